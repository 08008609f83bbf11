#!/usr/bin/env python3
"""CPU accounting for Benchmarks/run.sh, from /proc.

    cpu.py snap OPSIGHT_PID REDIS_PIDFILE POSTMASTER_PIDFILE
        one line: wall-clock ns, then CPU ticks (user + system) of opsight, redis, postgres (the postmaster
        and its children), then the machine's busy and total ticks from /proc/stat.
    cpu.py diff SNAP_A SNAP_B LOADGEN_CPU_SECONDS
        cores used between the two snapshots: opsight_cores opsight_cpu_s redis_cores postgres_cores
        loadgen_cores (wrk, ship or mtail, measured by /usr/bin/time) others_cores (every other busy core:
        other processes, kernel threads, interrupts) system_busy (%).
"""

import os
import sys
import time

TCK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from state (field 3) on


def ticks(pid):
    f = stat_fields(pid)
    return int(f[11]) + int(f[12]) if f else 0


def first_line_pid(path):
    try:
        with open(path) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def snap(opsight_pid, redis_pidfile, pg_pidfile):
    redis = first_line_pid(redis_pidfile)
    master = first_line_pid(pg_pidfile)
    pg = 0
    if master:
        pg = ticks(master)
        for name in os.listdir("/proc"):
            if name.isdigit():
                f = stat_fields(name)
                if f and f[1] == str(master):
                    pg += int(f[11]) + int(f[12])
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = cpu
    busy = user + nice + system + irq + softirq + steal
    total = busy + idle + iowait
    vals = [time.time_ns(), ticks(int(opsight_pid)), ticks(redis) if redis else 0, pg, busy, total]
    print(" ".join(str(v) for v in vals))


def diff(a, b, loadgen):
    a = [int(x) for x in a.split()]
    b = [int(x) for x in b.split()]
    d = [y - x for x, y in zip(a, b)]
    wall = d[0] / 1e9
    cores = lambda t: t / TCK / wall if wall > 0 else 0.0
    lg = loadgen / wall if wall > 0 else 0.0
    ours = cores(d[1]) + cores(d[2]) + cores(d[3]) + lg
    print(f"opsight_cores={cores(d[1]):.2f} opsight_cpu_s={d[1] / TCK:.2f} redis_cores={cores(d[2]):.2f} "
          f"postgres_cores={cores(d[3]):.2f} loadgen_cores={lg:.2f} others_cores={max(0.0, cores(d[4]) - ours):.2f} "
          f"system_busy={d[4] / d[5] * 100 if d[5] else 0:.0f}")


if __name__ == "__main__":
    if sys.argv[1] == "snap":
        snap(*sys.argv[2:5])
    elif sys.argv[1] == "diff":
        diff(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(__doc__)

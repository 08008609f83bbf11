#!/usr/bin/env python3
"""Summarises and plots the soak's RSS samples (Benchmarks/soak.sh).

    plot_rss.py SAMPLES.csv OUT.png

SAMPLES.csv has `seconds,rss_mb,events_acked` lines, one a second. Prints
`soak seconds=… peak_rss_mb=… steady_rss_mb=… slope_mb_per_min=…` (steady: the median of the last 60 samples;
slope: least squares over the second half) and writes the plot (matplotlib, installed with pip when missing).
"""

import statistics
import subprocess
import sys


def main() -> int:
    path, png = sys.argv[1], sys.argv[2]
    t, rss = [], []
    for line in open(path):
        parts = line.strip().split(",")
        if len(parts) >= 2 and parts[0] and parts[0][0].isdigit():
            t.append(float(parts[0]))
            rss.append(float(parts[1]))
    if len(t) < 4:
        print("plot_rss: fewer than 4 samples", file=sys.stderr)
        return 1
    half = len(t) // 2
    xs, ys = t[half:], rss[half:]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / max(1e-9, sum((x - mx) ** 2 for x in xs)) * 60
    print(f"soak seconds={t[-1]:.0f} peak_rss_mb={max(rss):.0f} steady_rss_mb={statistics.median(rss[-60:]):.0f} "
          f"slope_mb_per_min={slope:.2f}")
    try:
        import matplotlib
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "matplotlib"], check=False)
        try:
            import matplotlib
        except ImportError:
            print("plot_rss: no matplotlib (pip install matplotlib); no plot", file=sys.stderr)
            return 0
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(t, rss, lw=1)
    ax.axhline(300, color="red", ls="--", lw=1, label="SPEC §11: 300 MB")
    ax.set_xlabel("seconds")
    ax.set_ylabel("collector RSS (MB)")
    ax.set_title("opsight serve RSS under full ingest load, 10 000 series")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    print(f"plot_rss: wrote {png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

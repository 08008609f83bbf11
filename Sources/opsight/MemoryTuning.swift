import CMalloc
import ServiceLifecycle

/// glibc allocator settings for `opsight serve`, made before anything is allocated in bulk.
///
/// The collector's big allocations come and go in bursts: a pending delta's dictionary (megabytes), a Redis
/// transaction's RESP bytes, a PostgreSQL `Bind` message. glibc serves them by `mmap` only above its *dynamic*
/// threshold, which rises to the size of the largest block freed (up to 32 MiB); after the first burst every later
/// one comes from the arenas and, once freed, stays in the process: the RSS after shipping a 1M-line file of the
/// last hour settled at ~690 MB with ~130 MB in use (heaptrack, `Benchmarks/ship_cost.sh`; docs/benchmarks.md).
/// A fixed 4 MiB threshold sends those blocks to `mmap`, which gives them back on `free`; measured on the same
/// shipment it cost no CPU (below 1 MiB it did: +13 % collector CPU-s from page faults).
///
/// glibc also gives each thread that meets a locked arena a new one, up to 8 per core: the collector's threads (NIO
/// event loops, the cooperative pool, the commit thread, Redis and PostgreSQL workers) then each keep their own
/// free chunks from a shipment's burst, and the bursts of consecutive shipments land in different arenas. Two
/// arenas cost no CPU on a shipment (1, 2 and 8 arenas alike; one arena slowed acknowledgements); their effect on the
/// peak RSS of three shipments in a row was within the spread between runs (310 / 287 against 337 / 320 MB in one
/// pair of runs, 285 / 340 against 302 / 298 MB in another: docs/benchmarks.md), so they are kept for costing
/// nothing rather than for a measured gain.
enum MemoryTuning {
    /// Blocks from this size up are mapped on their own and returned to the system when freed.
    static let mmapThreshold: Int32 = 4 << 20
    /// How many malloc arenas the process's threads share.
    static let arenaMax: Int32 = 2

    /// Applies the settings; returns false when glibc refused one (the process then runs with glibc's defaults
    /// for that one).
    @discardableResult
    static func apply() -> Bool {
        let threshold = mallopt(M_MMAP_THRESHOLD, mmapThreshold) == 1
        let arenas = mallopt(M_ARENA_MAX, arenaMax) == 1
        return threshold && arenas
    }
}

/// Gives memory that is free inside glibc's arenas back to the system, every second.
///
/// Even with big blocks mapped on their own, a burst (a shipment of the last hour) leaves the arenas holding many
/// small free chunks between live ones; glibc returns only the free top of an arena by itself, so RSS stays at the
/// burst's level. `malloc_trim(0)` also releases the free pages inside an arena. It costs a walk over the free
/// chunks under each arena's lock, every `interval`. Measured on a shipment of the last hour: RSS 5 s after it
/// 118 MB with a trim every second, 145 MB every 5 s, ~300 MB without; no measurable CPU either way.
struct MemoryTrimmer: Service {
    var interval: Duration = .seconds(1)

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            malloc_trim(0)
        }
    }
}

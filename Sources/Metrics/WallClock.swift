#if canImport(Darwin)
    import Darwin
#elseif canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The source of event timestamps (unix milliseconds); injected so tests can fix the time.
///
/// Batch timing uses a `Clock` instead; this is only the wall time written into each event's `ts`.
public struct WallClock: Sendable {
    private enum Source: Sendable {
        case system
        case custom(@Sendable () -> Int64)
    }

    private let source: Source

    /// The system's real-time clock.
    public static let system = WallClock(source: .system)

    private init(source: Source) {
        self.source = source
    }

    /// A clock reading `nowMs` (unix milliseconds) for every event.
    public init(_ nowMs: @escaping @Sendable () -> Int64) {
        self.source = .custom(nowMs)
    }

    /// The current time in unix milliseconds.
    @inline(__always)
    public func nowMs() -> Int64 {
        switch source {
        case .system:
            var spec = timespec()
            clock_gettime(CLOCK_REALTIME, &spec)
            return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
        case .custom(let read):
            return read()
        }
    }
}

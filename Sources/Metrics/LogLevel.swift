/// The severity of a log event.
///
/// The raw values are persisted in the write-ahead log and are ordered by severity.
public enum LogLevel: UInt8, Sendable, CaseIterable, Comparable {
    /// Diagnostic detail (also what `trace` maps to).
    case debug = 0
    /// Normal operation; the default when a log line has no level.
    case info = 1
    /// Something unexpected that the service recovered from.
    case warn = 2
    /// A failed operation.
    case error = 3
    /// The service cannot continue.
    case fatal = 4

    /// The schema spelling: `"debug"`, `"info"`, `"warn"`, `"error"` or `"fatal"`.
    public var rawString: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warn: "warn"
        case .error: "error"
        case .fatal: "fatal"
        }
    }

    /// Parses a level name case-insensitively, accepting the spellings of common loggers.
    ///
    /// Besides the schema names this accepts `trace` (→ debug), `warning` (→ warn), `err` (→ error)
    /// and `critical` / `panic` (→ fatal).
    public init?(parsing text: String) {
        var utf8 = Array(text.utf8)
        guard utf8.count <= 8 else { return nil }
        for i in utf8.indices where utf8[i] >= UInt8(ascii: "A") && utf8[i] <= UInt8(ascii: "Z") {
            utf8[i] |= 0x20
        }
        switch String(decoding: utf8, as: UTF8.self) {
        case "debug", "trace": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warn
        case "error", "err": self = .error
        case "fatal", "critical", "panic": self = .fatal
        default: return nil
        }
    }

    /// Maps a numeric level of the pino/bunyan convention (10 trace … 60 fatal); `nil` otherwise.
    public init?(numeric value: Int) {
        switch value {
        case 10, 20: self = .debug
        case 30: self = .info
        case 40: self = .warn
        case 50: self = .error
        case 60: self = .fatal
        default: return nil
        }
    }

    /// Orders levels by severity.
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

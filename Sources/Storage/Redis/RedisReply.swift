/// One RESP2 reply from the server.
public enum RedisReply: Sendable, Equatable {
    /// A simple string such as `OK` or `QUEUED`.
    case status(String)
    /// An error reply such as `WRONGTYPE Operation against a key holding the wrong kind of value`.
    case error(String)
    /// An integer reply.
    case integer(Int64)
    /// A bulk string; binary-safe.
    case bulk([UInt8])
    /// A null bulk string or null array (missing key, aborted transaction).
    case null
    /// A multi-bulk reply.
    indirect case array([RedisReply])
}

extension RedisReply {
    /// The text of a status or bulk reply (bulk bytes decoded as UTF-8), otherwise `nil`.
    public var string: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The value of an integer reply, or of a status or bulk reply holding a decimal integer, otherwise `nil`.
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): Self.parseInt(bytes)
        case .status(let text): Int64(text)
        default: nil
        }
    }

    /// The bytes of a bulk reply, otherwise `nil`.
    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { bytes } else { nil }
    }

    /// The elements of an array reply, otherwise `nil`.
    public var array: [RedisReply]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// The message of an error reply, otherwise `nil`.
    public var errorMessage: String? {
        if case .error(let message) = self { message } else { nil }
    }

    /// Whether this is a null reply.
    public var isNull: Bool { self == .null }

    /// Parses ASCII decimal without going through `String`, since counters come back as bulk strings.
    private static func parseInt(_ bytes: [UInt8]) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var index = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative || bytes[0] == UInt8(ascii: "+") {
            index = 1
            guard bytes.count > 1 else { return nil }
        }
        var value: Int64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative
                ? times10.subtractingReportingOverflow(Int64(digit)) : times10.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            value = next
            index += 1
        }
        return value
    }
}

/// A batch of Redis commands encoded as RESP into one contiguous buffer, ready to be written in a single call.
///
/// Build it on any thread, then hand it to ``RedisConnection/pipeline(_:)`` or
/// ``RedisConnection/transaction(_:)``. The typed helpers in `RESPCommands+Common.swift` (``hincrby(_:_:by:)``,
/// ``expire(_:seconds:)``, ``set(_:_:)-(String,String)``…) avoid the argument array of ``append(_:)-([RESPArg])``.
public struct RESPCommands: Sendable {
    /// The number of commands appended so far; a pipeline reads exactly this many replies.
    public private(set) var count: Int = 0
    /// The encoded commands.
    public private(set) var bytes: [UInt8] = []

    /// Creates an empty batch.
    public init() {}

    /// Creates an empty batch with room for `byteCapacity` encoded bytes.
    public init(reservingCapacity byteCapacity: Int) {
        bytes.reserveCapacity(byteCapacity)
    }

    /// Whether no command has been appended.
    public var isEmpty: Bool { count == 0 }

    /// Appends one command, for example `append("SET", key, value)`.
    public mutating func append(_ args: RESPArg...) {
        append(args)
    }

    /// Appends one command whose arguments are in an array.
    public mutating func append(_ args: [RESPArg]) {
        precondition(!args.isEmpty, "a Redis command needs at least its name")
        beginCommand(argumentCount: args.count)
        for arg in args {
            appendArgument(arg)
        }
    }

    /// Appends every command of `other`, keeping their order.
    public mutating func append(contentsOf other: RESPCommands) {
        bytes.append(contentsOf: other.bytes)
        count += other.count
    }

    /// Removes every command, keeping the buffer's capacity when asked, so that one batch can be reused.
    public mutating func removeAll(keepingCapacity: Bool = true) {
        bytes.removeAll(keepingCapacity: keepingCapacity)
        count = 0
    }

    // MARK: - Encoding

    /// Writes `*<n>\r\n`; exactly `argumentCount` arguments must follow.
    mutating func beginCommand(argumentCount: Int) {
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(Int64(argumentCount))
        appendCRLF()
        count += 1
    }

    /// Writes one bulk-string argument.
    mutating func appendArgument(_ arg: RESPArg) {
        switch arg {
        case .string(let text): appendArgument(text)
        case .bytes(let raw): appendArgument(raw)
        case .int(let value): appendArgument(value)
        case .double(let value): appendArgument(value.description)
        }
    }

    /// Writes a UTF-8 string argument.
    mutating func appendArgument(_ text: String) {
        var text = text
        // Native strings are contiguous UTF-8, so this copies straight from the string's storage.
        text.withUTF8 { utf8 in
            appendBulkHeader(length: utf8.count)
            bytes.append(contentsOf: utf8)
        }
        appendCRLF()
    }

    /// Writes a static ASCII argument such as a command name.
    mutating func appendArgument(_ text: StaticString) {
        text.withUTF8Buffer { utf8 in
            appendBulkHeader(length: utf8.count)
            bytes.append(contentsOf: utf8)
        }
        appendCRLF()
    }

    /// Writes a binary argument.
    mutating func appendArgument(_ raw: [UInt8]) {
        appendBulkHeader(length: raw.count)
        bytes.append(contentsOf: raw)
        appendCRLF()
    }

    /// Writes an integer argument as decimal digits.
    mutating func appendArgument(_ value: Int64) {
        appendBulkHeader(length: Self.decimalLength(value))
        appendDecimal(value)
        appendCRLF()
    }

    @inline(__always)
    private mutating func appendBulkHeader(length: Int) {
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(Int64(length))
        appendCRLF()
    }

    @inline(__always)
    private mutating func appendCRLF() {
        bytes.append(UInt8(ascii: "\r"))
        bytes.append(UInt8(ascii: "\n"))
    }

    /// The number of bytes `appendDecimal` writes for `value`, sign included.
    @inline(__always)
    private static func decimalLength(_ value: Int64) -> Int {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            length += 1
        }
        return length
    }

    /// Writes the decimal digits of `value` without allocating a `String`.
    @inline(__always)
    private mutating func appendDecimal(_ value: Int64) {
        if value >= 0 && value < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
        }
        var magnitude = value.magnitude
        let digitCount = Self.decimalLength(value) - (value < 0 ? 1 : 0)
        let end = bytes.count + digitCount
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digitCount))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var index = end - 1
            repeat {
                buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
                index -= 1
            } while magnitude > 0
        }
    }
}

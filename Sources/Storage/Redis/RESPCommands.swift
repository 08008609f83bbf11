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

    /// Appends `count` commands already encoded as RESP in `encoded`.
    mutating func appendEncoded(_ encoded: [UInt8], count: Int) {
        bytes.append(contentsOf: encoded)
        self.count += count
    }

    /// Removes every command, keeping the buffer's capacity when asked, so that one batch can be reused.
    public mutating func removeAll(keepingCapacity: Bool = true) {
        bytes.removeAll(keepingCapacity: keepingCapacity)
        count = 0
    }

    // MARK: - Encoding

    /// Writes `*<n>\r\n`; exactly `argumentCount` arguments must follow.
    mutating func beginCommand(argumentCount: Int) {
        appendLine(marker: UInt8(ascii: "*"), Int64(argumentCount))
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
        // Native strings are contiguous UTF-8: copy straight from their storage, without bridging or copying the
        // string first.
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { utf8 in
            appendBulk(UnsafeRawBufferPointer(utf8))
        }
        if done == nil {
            appendArgument(Array(text.utf8))
        }
    }

    /// Writes a static ASCII argument such as a command name.
    mutating func appendArgument(_ text: StaticString) {
        text.withUTF8Buffer { utf8 in
            appendBulk(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Writes a binary argument.
    mutating func appendArgument(_ raw: [UInt8]) {
        raw.withUnsafeBytes { appendBulk($0) }
    }

    /// Writes an integer argument as `$<length>\r\n<digits>\r\n`, formatted on the stack.
    mutating func appendArgument(_ value: Int64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { scratch in
            var start = Self.writeLine(value, endingAt: scratch.count, in: scratch)
            let digitCount = scratch.count - start - 2
            start = Self.writeLine(Int64(digitCount), endingAt: start, in: scratch)
            start -= 1
            scratch[start] = UInt8(ascii: "$")
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[start...]))
        }
    }

    @inline(__always)
    private mutating func appendBulk(_ body: UnsafeRawBufferPointer) {
        appendLine(marker: UInt8(ascii: "$"), Int64(body.count))
        bytes.append(contentsOf: body)
        bytes.append(UInt8(ascii: "\r"))
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Writes `<marker><decimal>\r\n` with one append.
    @inline(__always)
    private mutating func appendLine(marker: UInt8, _ value: Int64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { scratch in
            let start = Self.writeLine(value, endingAt: scratch.count, in: scratch) - 1
            scratch[start] = marker
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[start...]))
        }
    }

    /// Writes `<decimal>\r\n` so that it ends just before `end` and returns where it starts; 22 bytes at most.
    @inline(__always)
    private static func writeLine(_ value: Int64, endingAt end: Int, in scratch: UnsafeMutableBufferPointer<UInt8>)
        -> Int
    {
        var index = end - 2
        scratch[index] = UInt8(ascii: "\r")
        scratch[index + 1] = UInt8(ascii: "\n")
        var magnitude = value.magnitude
        repeat {
            index -= 1
            scratch[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 {
            index -= 1
            scratch[index] = UInt8(ascii: "-")
        }
        return index
    }
}

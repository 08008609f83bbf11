import CHiredis
import Storage
import Testing

/// The Swift RESP encoder checked against hiredis's own argv formatter; needs no server.
@Suite struct RedisRESPCommandsTests {
    @Test func encodingMatchesHiredisForRandomCommands() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let args = (0..<Int.random(in: 1...8)).map { _ in Self.randomArg(using: &generator) }
            var commands = RESPCommands()
            commands.append(args)

            #expect(commands.bytes == Self.hiredisEncoding(args.map(Self.wireBytes)), "\(args)")
            #expect(commands.count == 1)
        }
    }

    @Test(arguments: [Int64.min, Int64.min + 1, -10, -9, -1, 0, 1, 9, 10, 99, 100, 1_000_000_007, Int64.max])
    func integersAreEncodedAsDecimal(value: Int64) {
        var commands = RESPCommands()
        commands.append("INCRBY", "k", .int(value))

        #expect(
            commands.bytes == Self.hiredisEncoding([Array("INCRBY".utf8), Array("k".utf8), Array("\(value)".utf8)]))
    }

    @Test func typedHelpersEncodeLikeTheGenericAppend() {
        var typed = RESPCommands()
        typed.hincrby("h", "f", by: -42)
        typed.hincrbyfloat("h", "g", by: 0.5)
        typed.incrby("c", by: 7)
        typed.expire("h", seconds: 3600)
        typed.set("s", "v")
        typed.set("s", [0, 13, 10, 255], expireSeconds: 5)
        typed.hset("h", "f", "v")
        typed.get("s")
        typed.del("s")
        var generic = RESPCommands()
        generic.append("HINCRBY", "h", "f", -42)
        generic.append("HINCRBYFLOAT", "h", "g", 0.5)
        generic.append("INCRBY", "c", 7)
        generic.append("EXPIRE", "h", 3600)
        generic.append("SET", "s", "v")
        generic.append("SET", "s", .bytes([0, 13, 10, 255]), "EX", 5)
        generic.append(["HSET", "h", "f", "v"])
        generic.append("GET", "s")
        generic.append("DEL", "s")

        #expect(typed.bytes == generic.bytes)
        #expect(typed.count == 9)
        #expect(generic.count == 9)
    }

    @Test func batchesConcatenateAndReset() {
        var first = RESPCommands()
        first.get("a")
        var second = RESPCommands()
        second.get("b")
        second.get("c")
        var expected = RESPCommands()
        expected.get("a")
        expected.get("b")
        expected.get("c")

        first.append(contentsOf: second)
        #expect(first.bytes == expected.bytes)
        #expect(first.count == 3)
        first.removeAll()
        #expect(first.isEmpty)
        #expect(first.bytes.isEmpty)
    }

    @Test(arguments: [
        (RedisReply.integer(-5), Int64?.some(-5), String?.none),
        (.bulk(Array("123".utf8)), 123, "123"),
        (.bulk(Array("-9223372036854775808".utf8)), Int64.min, "-9223372036854775808"),
        (.bulk(Array("9223372036854775808".utf8)), nil, "9223372036854775808"),
        (.bulk(Array("12a".utf8)), nil, "12a"),
        (.status("OK"), nil, "OK"),
        (.error("ERR x"), nil, nil),
        (.null, nil, nil),
    ])
    func replyHelpers(reply: RedisReply, int: Int64?, string: String?) {
        #expect(reply.int == int)
        #expect(reply.string == string)
    }

    private static func randomArg(using generator: inout SystemRandomNumberGenerator) -> RESPArg {
        switch Int.random(in: 0..<4, using: &generator) {
        case 0:
            let scalars = (0..<Int.random(in: 0...20, using: &generator)).map { _ in
                Character(Unicode.Scalar(UInt32.random(in: 0x20...0x7E, using: &generator))!)
            }
            return .string(String(scalars) + (Bool.random(using: &generator) ? "é😀" : ""))
        case 1:
            return .bytes((0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255) })
        case 2:
            return .int(Int64.random(in: Int64.min...Int64.max, using: &generator) >> Int64.random(in: 0...63))
        default:
            return .double(Double.random(in: -1e12...1e12, using: &generator))
        }
    }

    private static func wireBytes(_ arg: RESPArg) -> [UInt8] {
        switch arg {
        case .string(let text): Array(text.utf8)
        case .bytes(let raw): raw
        case .int(let value): Array("\(value)".utf8)
        case .double(let value): Array("\(value)".utf8)
        }
    }

    /// Formats with `redisFormatCommandArgv`, the encoder hiredis itself uses.
    private static func hiredisEncoding(_ args: [[UInt8]]) -> [UInt8] {
        // hiredis copies the arguments, so pointers into one flat buffer are enough.
        let flat = Array(args.joined()) + [0]
        var lengths = args.map(\.count)
        return flat.withUnsafeBytes { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            var offset = 0
            var pointers: [UnsafePointer<CChar>?] = lengths.map { length in
                defer { offset += length }
                return base + offset
            }
            var target: UnsafeMutablePointer<CChar>?
            let length = redisFormatCommandArgv(&target, Int32(args.count), &pointers, &lengths)
            defer { redisFreeCommand(target) }
            return Array(UnsafeRawBufferPointer(start: target, count: Int(length)))
        }
    }
}

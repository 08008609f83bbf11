import Foundation
import Storage
import Testing

/// Talks to the Redis that `make test` starts; skipped (and reported as skipped) when `OPSIGHT_TEST_REDIS_URL` is unset.
@Suite(
    .enabled(
        if: ProcessInfo.processInfo.environment["OPSIGHT_TEST_REDIS_URL"] != nil,
        "OPSIGHT_TEST_REDIS_URL is unset; `make test` starts Redis and sets it"
    )
)
struct RedisClientTests {
    let url: RedisURL
    /// Every key a test touches starts with this, so tests can run in parallel against one server.
    let prefix = "opsight-test:\(UInt64.random(in: 0...UInt64.max)):"

    init() throws {
        url = try RedisURL(ProcessInfo.processInfo.environment["OPSIGHT_TEST_REDIS_URL"] ?? "")
    }

    @Test func setAndGetRoundTripBinaryBytes() async throws {
        let client = RedisClient(url: url)
        defer { client.shutdown() }
        var value = (0...255).map { UInt8($0) } + Array("\r\n$-1\r\n*0\r\n".utf8)
        value.shuffle()
        let key = prefix + "binary"

        let replies = try await client.withConnection { [prefix, value] connection in
            [
                try connection.command("SET", .string(key), .bytes(value)),
                try connection.command("GET", .string(key)),
                try connection.command("SET", .string(key), .bytes([])),
                try connection.command("GET", .string(key)),
                try connection.command("GET", .string(prefix + "missing")),
                try connection.command("DEL", .string(key)),
            ]
        }

        #expect(replies == [.status("OK"), .bulk(value), .status("OK"), .bulk([]), .null, .integer(1)])
    }

    @Test func pipelinedHIncrByMatchesALocalTally() async throws {
        let client = RedisClient(url: url)
        defer { client.shutdown() }
        let key = prefix + "counters"
        var commands = RESPCommands()
        var tally: [String: Int64] = [:]
        var runningTotals: [RedisReply] = []
        for _ in 0..<10_000 {
            let field = "field-\(Int.random(in: 0..<37))"
            let increment = Int64.random(in: -1_000_000...1_000_000)
            commands.hincrby(key, field, by: increment)
            tally[field, default: 0] += increment
            runningTotals.append(.integer(tally[field]!))
        }
        commands.expire(key, seconds: 60)

        let (replies, all) = try await client.withConnection { [commands] connection in
            (try connection.pipeline(commands), try connection.command("HGETALL", .string(key)))
        }

        #expect(commands.count == 10_001)
        #expect(replies == runningTotals + [.integer(1)])
        let elements = try #require(all.array)
        var stored: [String: Int64] = [:]
        for index in stride(from: 0, to: elements.count, by: 2) {
            let field = try #require(elements[index].string)
            let count = try #require(elements[index + 1].int)
            stored[field] = count
        }
        #expect(stored == tally)
    }

    @Test func transactionReturnsTheExecReplies() async throws {
        let client = RedisClient(url: url)
        defer { client.shutdown() }
        var commands = RESPCommands()
        commands.set(prefix + "tx", "41", expireSeconds: 60)
        commands.incrby(prefix + "tx", by: 1)
        commands.get(prefix + "tx")

        let replies = try await client.transaction(commands)

        #expect(replies == [.status("OK"), .integer(42), .bulk(Array("42".utf8))])
    }

    @Test func transactionThrowsWhenAWatchedKeyChanges() async throws {
        let client = RedisClient(url: url, connections: 1)
        let other = RedisClient(url: url, connections: 1)
        defer {
            client.shutdown()
            other.shutdown()
        }
        let key = prefix + "watched"

        let error = await #expect(throws: RedisError.self) {
            try await client.withConnection { connection in
                _ = try connection.command("WATCH", .string(key))
                // Another connection changes the key between WATCH and EXEC; this thread blocks until it is done.
                let semaphore = DispatchSemaphore(value: 0)
                Task {
                    _ = try? await other.command("SET", .string(key), "changed", "EX", 60)
                    semaphore.signal()
                }
                semaphore.wait()
                var commands = RESPCommands()
                commands.set(key, "mine")
                return try connection.transaction(commands)
            }
        }

        #expect(error?.code == .transactionAborted)
        #expect(try await client.command("GET", .string(key)) == .bulk(Array("changed".utf8)))
    }

    @Test func transactionThrowsWhenACommandIsRejectedOrFails() async throws {
        let client = RedisClient(url: url, connections: 1)
        defer { client.shutdown() }
        var rejected = RESPCommands()
        rejected.set(prefix + "untouched", "1")
        rejected.append("NOT-A-COMMAND", "x")
        var failing = RESPCommands()
        failing.set(prefix + "text", "not a number", expireSeconds: 60)
        failing.incrby(prefix + "text", by: 1)

        let rejectedError = await #expect(throws: RedisError.self) { try await client.transaction(rejected) }
        let failingError = await #expect(throws: RedisError.self) { try await client.transaction(failing) }

        #expect(rejectedError?.code == .server)
        #expect(rejectedError?.message.contains("EXECABORT") == true)
        #expect(failingError?.code == .server)
        #expect(failingError?.message.contains("command #2") == true)
        // The connection stays in step with the server after both failures.
        #expect(try await client.command("GET", .string(prefix + "untouched")) == .null)
        #expect(try await client.command("GET", .string(prefix + "text")) == .bulk(Array("not a number".utf8)))
    }

    @Test func errorRepliesAreValuesAndKeepTheConnectionUsable() async throws {
        let client = RedisClient(url: url, connections: 1)
        defer { client.shutdown() }
        let key = prefix + "string"
        var commands = RESPCommands()
        commands.set(key, "text", expireSeconds: 60)
        commands.hincrby(key, "field", by: 1)
        commands.get(key)

        let replies = try await client.pipeline(commands)

        #expect(replies.count == 3)
        #expect(replies[0] == .status("OK"))
        #expect(replies[1].errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(replies[2] == .bulk(Array("text".utf8)))
        #expect(try await client.command("PING") == .status("PONG"))
    }

    @Test func nextCallReconnectsAfterTheServerKillsTheConnection() async throws {
        let client = RedisClient(url: url, connections: 1)
        defer { client.shutdown() }
        let firstID = try #require(try await client.command("CLIENT", "ID").int)
        // Kill by ID rather than `CLIENT KILL TYPE normal` so that tests running in parallel keep their connections.
        let killer = try RedisConnection(url: url)
        #expect(try killer.command("CLIENT", "KILL", "ID", .int(firstID)) == .integer(1))

        let error = await #expect(throws: RedisError.self) { try await client.command("PING") }
        let secondID = try #require(try await client.command("CLIENT", "ID").int)

        #expect(error?.code == .io)
        #expect(secondID != firstID)
        #expect(try await client.command("PING") == .status("PONG"))
    }

    @Test func concurrentCallersShareThePool() async throws {
        let client = RedisClient(url: url, connections: 2)
        defer { client.shutdown() }
        let key = prefix + "concurrent"

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask { _ = try await client.command("INCR", .string(key)) }
            }
            try await group.waitForAll()
        }

        #expect(try await client.command("GET", .string(key)).int == 200)
        _ = try await client.command("DEL", .string(key))
    }

    @Test func urlDatabaseIsSelected() async throws {
        var database1 = url
        database1.database = url.database == 1 ? 2 : 1
        let selected = RedisClient(url: database1, connections: 1)
        let plain = RedisClient(url: url, connections: 1)
        defer {
            selected.shutdown()
            plain.shutdown()
        }
        let key = prefix + "db"

        _ = try await selected.command("SET", .string(key), "here", "EX", 60)

        #expect(try await selected.command("GET", .string(key)) == .bulk(Array("here".utf8)))
        #expect(try await plain.command("GET", .string(key)) == .null)
    }

    @Test func wrongPasswordFailsToConnectWithAClearMessage() async throws {
        var wrong = url
        wrong.password = "not-the-password-\(prefix)"
        let client = RedisClient(url: wrong, connections: 1)
        defer { client.shutdown() }

        let error = await #expect(throws: RedisError.self) { try await client.command("PING") }

        #expect(error?.code == .connection)
        #expect(error?.message.contains("AUTH") == true)
        #expect(error?.message.contains(wrong.password!) == false)
    }

    @Test func unreachableServerFailsWithAConnectionError() throws {
        // Bind a port and close it again so that nothing listens there.
        let port = try Self.unusedLoopbackPort()

        let error = #expect(throws: RedisError.self) {
            try RedisConnection(url: RedisURL(host: "127.0.0.1", port: port), timeout: .seconds(1))
        }

        #expect(error?.code == .connection)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
    }

    @Test func callsAfterShutdownThrow() async throws {
        let client = RedisClient(url: url)
        #expect(try await client.command("PING") == .status("PONG"))
        client.shutdown()
        client.shutdown()

        let error = await #expect(throws: RedisError.self) { try await client.command("PING") }

        #expect(error?.code == .shutdown)
    }

    private static func unusedLoopbackPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(descriptor, raw, length) == 0 && getsockname(descriptor, raw, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

import Storage
import Testing

/// Parsing `redis://` URLs; needs no server.
@Suite struct RedisURLTests {
    @Test(arguments: [
        ("redis://127.0.0.1", RedisURL(host: "127.0.0.1")),
        ("redis://localhost:6380/3", RedisURL(host: "localhost", port: 6380, database: 3)),
        ("redis://:s3cret@cache:7000/0", RedisURL(host: "cache", port: 7000, password: "s3cret")),
        ("redis://s3cret@cache", RedisURL(host: "cache", password: "s3cret")),
        ("redis://app:p%40ss%3Aword@cache/", RedisURL(host: "cache", username: "app", password: "p@ss:word")),
        ("REDIS://[::1]:6390/2", RedisURL(host: "::1", port: 6390, database: 2)),
    ])
    func parsesValidURLs(text: String, expected: RedisURL) throws {
        #expect(try RedisURL(text) == expected)
    }

    @Test(arguments: [
        ("127.0.0.1:6379", "missing 'redis://' scheme"),
        ("http://127.0.0.1", "unsupported scheme 'http'"),
        ("rediss://127.0.0.1", "TLS (rediss://) is not supported"),
        ("redis://", "missing host"),
        ("redis://:pw@:6379", "missing host"),
        ("redis://host:0", "port '0' is not a number between 1 and 65535"),
        ("redis://host:99999", "port '99999' is not a number between 1 and 65535"),
        ("redis://host:abc/0", "port 'abc'"),
        ("redis://host/db1", "database 'db1' is not a non-negative integer"),
        ("redis://host/0?timeout=1", "query parameters"),
        ("redis://[::1:6379", "unterminated IPv6 address"),
        ("redis://:bad%zz@host", "bad percent-encoding in password"),
    ])
    func rejectsInvalidURLsSayingWhatIsWrong(text: String, reason: String) {
        let error = #expect(throws: RedisError.self) { try RedisURL(text) }

        #expect(error?.code == .invalidURL)
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("expected redis://") == true)
    }

    @Test func errorsAndDescriptionsHideThePassword() {
        let error = #expect(throws: RedisError.self) { try RedisURL("redis://:hunter2@host:notaport") }
        let url = RedisURL(host: "cache", port: 7000, database: 1, username: "app", password: "hunter2")

        #expect(error?.message.contains("hunter2") == false)
        #expect(error?.message.contains("redis://:***@host:notaport") == true)
        #expect(url.description == "redis://app:***@cache:7000/1")
    }

    @Test func parsesClusterSeeds() throws {
        let url = try RedisURL("redis+cluster://:pw@10.0.0.1:7000,[::1]:7001,cache,10.0.0.1:7000/")
        let seeds = [
            RedisNode(host: "10.0.0.1", port: 7000), RedisNode(host: "::1", port: 7001),
            RedisNode(host: "cache", port: 6379),
        ]

        #expect(url == RedisURL(clusterSeeds: seeds, password: "pw"))
        #expect(url.isCluster)
        #expect(url.host == "10.0.0.1" && url.port == 7000)
        #expect(url.description == "redis+cluster://:***@10.0.0.1:7000,[::1]:7001,cache:6379")
        #expect(url.node(seeds[1]) == RedisURL(host: "::1", port: 7001, password: "pw"))
        #expect(try RedisURL("redis://h:7000").isCluster == false)
    }

    @Test(arguments: [
        ("redis+cluster://h1:7000/2", "a Redis Cluster has only database 0"),
        ("redis+cluster://h1:7000,,h2:7001", "missing host"),
        ("redis+cluster://h1:7000,h2:x", "port 'x'"),
        ("redis+cluster://", "missing host"),
    ])
    func rejectsBadClusterURLs(text: String, reason: String) {
        let error = #expect(throws: RedisError.self) { try RedisURL(text) }

        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("redis+cluster://[:password@]host:port,host:port") == true)
    }
}

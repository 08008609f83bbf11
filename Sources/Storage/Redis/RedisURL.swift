/// Where a Redis server is and how to log in: parsed from `redis://[[username]:password@]host[:port][/db]`, or for
/// a Redis Cluster from `redis+cluster://[[username]:password@]host[:port],host[:port]…`, whose hosts are seed nodes
/// the slot map is read from.
public struct RedisURL: Sendable, Equatable {
    /// The host name or IP address (IPv6 without brackets).
    public var host: String
    /// The TCP port; 6379 when the URL has none.
    public var port: Int
    /// The logical database selected after connecting; 0 when the URL has none.
    public var database: Int
    /// The ACL user name for `AUTH username password`; `nil` uses `AUTH password` (the `default` user).
    public var username: String?
    /// The password sent with `AUTH`; `nil` skips authentication.
    public var password: String?
    /// The seed nodes of a Redis Cluster (`redis+cluster://`); empty for a single server, which `host` and `port` name.
    /// When not empty, `host` and `port` are its first node.
    public var clusterSeeds: [RedisNode]

    /// Whether this URL names a Redis Cluster rather than one server.
    public var isCluster: Bool { !clusterSeeds.isEmpty }

    /// Creates a URL from its parts.
    public init(host: String, port: Int = 6379, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
        self.clusterSeeds = []
    }

    /// Creates the URL of a Redis Cluster from its seed nodes (at least one) and credentials.
    public init(clusterSeeds: [RedisNode], username: String? = nil, password: String? = nil) {
        precondition(!clusterSeeds.isEmpty, "a Redis Cluster URL needs at least one seed node")
        self.init(
            host: clusterSeeds[0].host, port: clusterSeeds[0].port, username: username, password: password)
        self.clusterSeeds = clusterSeeds
    }

    /// The single-server URL of one node, with this URL's credentials: what a connection to that node uses.
    public func node(_ node: RedisNode) -> RedisURL {
        RedisURL(host: node.host, port: node.port, database: database, username: username, password: password)
    }

    /// Parses `redis://[[username]:password@]host[:port][/db]`, or `redis+cluster://[[username]:password@]host[:port]`
    /// with one or more comma-separated seed nodes; user name and password may be percent-encoded.
    ///
    /// - Throws: ``RedisError/Code/invalidURL`` naming the part that is wrong and showing the expected form.
    public init(_ string: String) throws(RedisError) {
        func invalid(_ reason: String) -> RedisError {
            RedisError(
                code: .invalidURL,
                message: "invalid Redis URL '\(Self.redactingPassword(string))': \(reason); "
                    + "expected redis://[:password@]host[:port][/db], e.g. redis://127.0.0.1:6379/0, "
                    + "or redis+cluster://[:password@]host:port,host:port for a Redis Cluster"
            )
        }

        guard let schemeEnd = string.firstRange(of: "://") else { throw invalid("missing 'redis://' scheme") }
        let scheme = string[..<schemeEnd.lowerBound].lowercased()
        let cluster = scheme == "redis+cluster"
        guard scheme == "redis" || cluster else {
            if scheme == "rediss" { throw invalid("TLS (rediss://) is not supported") }
            throw invalid("unsupported scheme '\(scheme)'")
        }
        var rest = Substring(string[schemeEnd.upperBound...])
        if rest.contains("?") || rest.contains("#") {
            throw invalid("query parameters and fragments are not supported")
        }

        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                let user = userinfo[..<colon]
                if !user.isEmpty {
                    guard let decoded = Self.percentDecoded(user) else {
                        throw invalid("bad percent-encoding in user name")
                    }
                    username = decoded
                }
                guard let decoded = Self.percentDecoded(userinfo[userinfo.index(after: colon)...]) else {
                    throw invalid("bad percent-encoding in password")
                }
                password = decoded
            } else {
                // `redis://secret@host` is what people write for a password-only server.
                guard let decoded = Self.percentDecoded(userinfo) else {
                    throw invalid("bad percent-encoding in password")
                }
                password = decoded
            }
        }

        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else {
                    throw invalid("database '\(path)' is not a non-negative integer")
                }
                database = number
            }
        }

        guard cluster else {
            let node = try Self.parseNode(rest, invalid: invalid)
            self.init(host: node.host, port: node.port, database: database, username: username, password: password)
            return
        }
        guard database == 0 else { throw invalid("a Redis Cluster has only database 0, not \(database)") }
        var seeds: [RedisNode] = []
        for part in rest.split(separator: ",", omittingEmptySubsequences: false) {
            let node = try Self.parseNode(part, invalid: invalid)
            if !seeds.contains(node) { seeds.append(node) }
        }
        self.init(clusterSeeds: seeds, username: username, password: password)
    }

    /// Parses `host[:port]` or `[ipv6][:port]`.
    private static func parseNode(_ text: Substring, invalid: (String) -> RedisError) throws(RedisError) -> RedisNode {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty else { throw invalid("missing host") }

        var port = 6379
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw invalid("port '\(portText)' is not a number between 1 and 65535")
            }
            port = number
        }
        return RedisNode(host: String(host), port: port)
    }

    /// Replaces the password of a URL string with `***` so that it can go into logs and error messages.
    private static func redactingPassword(_ string: String) -> String {
        guard let schemeEnd = string.firstRange(of: "://"), let at = string.lastIndex(of: "@"),
            at > schemeEnd.upperBound
        else { return string }
        let userinfo = string[schemeEnd.upperBound..<at]
        let user = userinfo.firstIndex(of: ":").map { userinfo[..<$0] } ?? ""
        return "\(string[..<schemeEnd.upperBound])\(user):***\(string[at...])"
    }

    private static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.next().flatMap(Self.hexValue), let low = utf8.next().flatMap(Self.hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension RedisURL: CustomStringConvertible {
    /// The URL with the password replaced by `***`, safe for logs.
    public var description: String {
        let auth = password == nil ? "" : "\(username ?? ""):***@"
        if isCluster {
            return "redis+cluster://\(auth)\(clusterSeeds.map(\.description).joined(separator: ","))"
        }
        return "redis://\(auth)\(RedisNode(host: host, port: port))/\(database)"
    }
}

/// One Redis server: host (IPv6 without brackets) and port.
public struct RedisNode: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 host in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension RESPCommands {
    /// Appends `HINCRBY key field increment`.
    public mutating func hincrby(_ key: String, _ field: String, by increment: Int64) {
        beginCommand(argumentCount: 4)
        appendArgument("HINCRBY" as StaticString)
        appendArgument(key)
        appendArgument(field)
        appendArgument(increment)
    }

    /// Appends `HINCRBY key field increment` with the field as bytes.
    public mutating func hincrby(_ key: String, _ field: [UInt8], by increment: Int64) {
        beginCommand(argumentCount: 4)
        appendArgument("HINCRBY" as StaticString)
        appendArgument(key)
        appendArgument(field)
        appendArgument(increment)
    }

    /// Appends `HINCRBYFLOAT key field increment`.
    public mutating func hincrbyfloat(_ key: String, _ field: String, by increment: Double) {
        beginCommand(argumentCount: 4)
        appendArgument("HINCRBYFLOAT" as StaticString)
        appendArgument(key)
        appendArgument(field)
        appendArgument(.double(increment))
    }

    /// Appends `INCRBY key increment`.
    public mutating func incrby(_ key: String, by increment: Int64) {
        beginCommand(argumentCount: 3)
        appendArgument("INCRBY" as StaticString)
        appendArgument(key)
        appendArgument(increment)
    }

    /// Appends `EXPIRE key seconds`.
    public mutating func expire(_ key: String, seconds: Int64) {
        beginCommand(argumentCount: 3)
        appendArgument("EXPIRE" as StaticString)
        appendArgument(key)
        appendArgument(seconds)
    }

    /// Appends `SET key value`, or `SET key value EX seconds` when `expireSeconds` is given.
    public mutating func set(_ key: String, _ value: String, expireSeconds: Int64? = nil) {
        beginSet(key, expireSeconds: expireSeconds)
        appendArgument(value)
        appendExpiry(expireSeconds)
    }

    /// Appends `SET key value` with a binary value, or `SET key value EX seconds` when `expireSeconds` is given.
    public mutating func set(_ key: String, _ value: [UInt8], expireSeconds: Int64? = nil) {
        beginSet(key, expireSeconds: expireSeconds)
        appendArgument(value)
        appendExpiry(expireSeconds)
    }

    /// Appends `HSET key field value`.
    public mutating func hset(_ key: String, _ field: String, _ value: String) {
        beginCommand(argumentCount: 4)
        appendArgument("HSET" as StaticString)
        appendArgument(key)
        appendArgument(field)
        appendArgument(value)
    }

    /// Appends `HSET key field value` with the field and value as bytes.
    public mutating func hset(_ key: String, _ field: [UInt8], _ value: [UInt8]) {
        beginCommand(argumentCount: 4)
        appendArgument("HSET" as StaticString)
        appendArgument(key)
        appendArgument(field)
        appendArgument(value)
    }

    /// Appends `GET key`.
    public mutating func get(_ key: String) {
        beginCommand(argumentCount: 2)
        appendArgument("GET" as StaticString)
        appendArgument(key)
    }

    /// Appends `DEL key`.
    public mutating func del(_ key: String) {
        beginCommand(argumentCount: 2)
        appendArgument("DEL" as StaticString)
        appendArgument(key)
    }

    private mutating func beginSet(_ key: String, expireSeconds: Int64?) {
        beginCommand(argumentCount: expireSeconds == nil ? 3 : 5)
        appendArgument("SET" as StaticString)
        appendArgument(key)
    }

    private mutating func appendExpiry(_ expireSeconds: Int64?) {
        guard let expireSeconds else { return }
        appendArgument("EX" as StaticString)
        appendArgument(expireSeconds)
    }
}

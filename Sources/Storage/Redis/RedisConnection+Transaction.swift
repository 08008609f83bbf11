extension RedisConnection {
    private static let multi: [UInt8] = Array("*1\r\n$5\r\nMULTI\r\n".utf8)
    private static let exec: [UInt8] = Array("*1\r\n$4\r\nEXEC\r\n".utf8)

    /// Runs the commands atomically as `MULTI` … `EXEC` in one round trip and returns `EXEC`'s replies, one per command.
    ///
    /// Use `WATCH` on the same connection beforehand for optimistic locking.
    ///
    /// - Throws: ``RedisError/Code/transactionAborted`` when `EXEC` returns null (a watched key changed; retry);
    ///   ``RedisError/Code/server`` when a command was rejected while queueing (nothing ran) or failed while executing
    ///   (Redis has no rollback: the other commands did run). The connection stays usable in both cases.
    public func transaction(_ commands: RESPCommands) throws(RedisError) -> [RedisReply] {
        try send(Self.multi)
        try send(commands.bytes)
        try send(Self.exec)
        // Read every reply before judging any, so that the connection stays in step with the server.
        let multiReply = try receive()
        var queueErrors: [(index: Int, message: String)] = []
        for index in 0..<commands.count {
            if case .error(let message) = try receive() {
                queueErrors.append((index, message))
            }
        }
        let execReply = try receive()

        if case .error(let message) = multiReply {
            throw RedisError(code: .server, message: "MULTI failed: \(message)")
        }
        switch execReply {
        case .array(let replies):
            if let failed = replies.enumerated().first(where: { $0.element.errorMessage != nil }) {
                throw RedisError(
                    code: .server,
                    message:
                        "command #\(failed.offset + 1) of the transaction failed: \(failed.element.errorMessage!); "
                        + "the other commands were applied (Redis does not roll back)"
                )
            }
            return replies
        case .null:
            throw RedisError(
                code: .transactionAborted,
                message: "EXEC returned null because a WATCHed key changed; nothing was applied, retry the transaction"
            )
        case .error(let message):
            let detail = queueErrors.first.map { "; command #\($0.index + 1) was rejected: \($0.message)" } ?? ""
            throw RedisError(code: .server, message: "transaction discarded, nothing was applied: \(message)\(detail)")
        default:
            throw RedisError(code: .protocol, message: "unexpected EXEC reply \(execReply)")
        }
    }
}

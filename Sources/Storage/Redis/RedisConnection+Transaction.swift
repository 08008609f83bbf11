extension RedisConnection {
    private static let multi: [UInt8] = Array("*1\r\n$5\r\nMULTI\r\n".utf8)
    private static let exec: [UInt8] = Array("*1\r\n$4\r\nEXEC\r\n".utf8)
    static let asking: [UInt8] = Array("*1\r\n$6\r\nASKING\r\n".utf8)

    /// Runs the commands atomically as `MULTI` … `EXEC` in one round trip and returns `EXEC`'s replies, one per command.
    ///
    /// Use `WATCH` on the same connection beforehand for optimistic locking.
    ///
    /// - Throws: ``RedisError/Code/transactionAborted`` when `EXEC` returns null (a watched key changed; retry);
    ///   ``RedisError/Code/server`` when a command was rejected while queueing (nothing ran) or failed while executing
    ///   (Redis has no rollback: the other commands did run). The connection stays usable in both cases.
    public func transaction(_ commands: RESPCommands) throws(RedisError) -> [RedisReply] {
        try Self.judge(exchangeTransaction(commands.bytes, count: commands.count, asking: false))
    }

    /// The replies of one `MULTI` … `EXEC` round trip, not yet judged.
    struct TransactionReplies {
        var multi: RedisReply
        /// The reply to queueing each command: `QUEUED`, or why it was refused (in a cluster: a redirect).
        var queued: [RedisReply]
        var exec: RedisReply
    }

    /// Sends `[ASKING] MULTI <commands> EXEC` in one write and reads every reply, so that the connection stays in
    /// step with the server whatever they say.
    func exchangeTransaction(_ bytes: [UInt8], count: Int, asking: Bool) throws(RedisError) -> TransactionReplies {
        try sendTransaction(bytes, asking: asking)
        return try receiveTransaction(count: count, asking: asking)
    }

    /// Buffers `[ASKING] MULTI <commands> EXEC`; several can be buffered before their replies are read.
    func sendTransaction(_ bytes: [UInt8], asking: Bool) throws(RedisError) {
        if asking { try send(Self.asking) }
        try send(Self.multi)
        try send(bytes)
        try send(Self.exec)
    }

    /// Reads the replies of one ``sendTransaction(_:asking:)`` of `count` commands.
    func receiveTransaction(count: Int, asking: Bool) throws(RedisError) -> TransactionReplies {
        if asking { _ = try receive() }
        let multiReply = try receive()
        var queued: [RedisReply] = []
        queued.reserveCapacity(count)
        for _ in 0..<count { queued.append(try receive()) }
        return TransactionReplies(multi: multiReply, queued: queued, exec: try receive())
    }

    /// `EXEC`'s replies, or the error that the transaction's replies mean.
    static func judge(_ replies: TransactionReplies) throws(RedisError) -> [RedisReply] {
        let multiReply = replies.multi
        let execReply = replies.exec
        let queueErrors = replies.queued.enumerated().compactMap { index, reply in
            reply.errorMessage.map { (index: index, message: $0) }
        }
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

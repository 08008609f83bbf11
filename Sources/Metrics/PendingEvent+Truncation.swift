extension PendingEvent {
    /// Appends the event as one line no longer than `maxLineBytes` (without its newline).
    ///
    /// The collector rejects longer lines outright, so an oversized event is rewritten instead: extra
    /// fields are replaced by `"_truncated":true` and every string is cut to `maxLineBytes / 32` bytes,
    /// which even fully escaped (6 bytes per control character) keeps the line within the limit.
    /// Returns whether the event had to be truncated.
    func encode(service: String, maxLineBytes: Int, into writer: inout JSONLineWriter) -> Bool {
        let start = writer.bytes.count
        encode(service: service, into: &writer)
        guard writer.bytes.count - start - 1 > maxLineBytes else { return false }
        writer.bytes.removeSubrange(start...)
        truncated(toStringBytes: max(maxLineBytes / 32, 16)).encode(service: service, into: &writer)
        return true
    }

    /// A copy with every string cut to at most `limit` UTF-8 bytes and the extra fields replaced by a marker.
    func truncated(toStringBytes limit: Int) -> PendingEvent {
        func cut(_ s: String) -> String { Self.prefix(s, maxBytes: limit) }
        var copy = self
        copy.fields = ["_truncated": .bool(true)]
        switch payload {
        case .request(let route, let method, let status, let durationMs, let requestID):
            copy.payload = .request(
                route: cut(route), method: cut(method), status: status, durationMs: durationMs,
                requestID: requestID.map(cut))
        case .job(let queue, let job, let jobID, let event, let durationMs, let attempt, let entity, let waitMs):
            copy.payload = .job(
                queue: cut(queue), job: cut(job), jobID: cut(jobID), event: event, durationMs: durationMs,
                attempt: attempt, entity: entity.map(cut), waitMs: waitMs)
        case .funnel(let event, let entity):
            copy.payload = .funnel(event: cut(event), entity: cut(entity))
        case .log(let level, let message):
            copy.payload = .log(level: level, message: cut(message))
        }
        return copy
    }

    /// The longest prefix of `s` of at most `maxBytes` UTF-8 bytes that ends on a scalar boundary.
    static func prefix(_ s: String, maxBytes: Int) -> String {
        let utf8 = Array(s.utf8)
        guard utf8.count > maxBytes else { return s }
        var end = maxBytes
        // Continuation bytes are 0b10xxxxxx: back up to the first byte of the cut scalar.
        while end > 0 && utf8[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: utf8[..<end], as: UTF8.self)
    }
}

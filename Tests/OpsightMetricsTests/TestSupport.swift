@testable import OpsightMetrics

/// The arrival time used by decoder tests: 2024-05-01T12:00:00Z.
let testNowMs: Int64 = 1_714_564_800_000

extension EventDecoder {
    /// Decodes a line given as a string.
    func decode(_ line: String, nowMs: Int64 = testNowMs) throws(EventDecodingError) -> Event {
        try decode(bytes: Array(line.utf8), nowMs: nowMs)
    }

    /// Decodes a line given as bytes.
    func decode(bytes: [UInt8], nowMs: Int64 = testNowMs) throws(EventDecodingError) -> Event {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(EventDecodingError) -> Event in try decode(raw, nowMs: nowMs) }
        }.get()
    }

    /// Decodes a body given as bytes.
    func decodeBatch(bytes: [UInt8], nowMs: Int64 = testNowMs) -> DecodedBatch {
        bytes.withUnsafeBytes { decodeBatch($0, nowMs: nowMs) }
    }

    /// Decodes a body given as a string.
    func decodeBatch(_ body: String, nowMs: Int64 = testNowMs) -> DecodedBatch {
        decodeBatch(bytes: Array(body.utf8), nowMs: nowMs)
    }

    /// The error text a line is rejected with, or `nil` if it is accepted.
    func rejection(_ line: String) -> String? {
        do {
            _ = try decode(line)
            return nil
        } catch {
            return error.description
        }
    }
}

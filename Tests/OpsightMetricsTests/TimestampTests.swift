import Foundation
import Testing

@testable import OpsightMetrics

@Suite struct TimestampTests {
    func rfc3339(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { Timestamp.parseRFC3339($0) }
    }

    func epoch(_ literal: String) -> Int64? {
        var literal = literal
        return literal.withUTF8 { Timestamp.fromEpoch($0) }
    }

    @Test(
        arguments: [
            ("1970-01-01T00:00:00Z", 0),
            ("2024-05-01T12:00:00Z", 1_714_564_800_000),
            ("2024-05-01t12:00:00z", 1_714_564_800_000),
            ("2024-05-01 12:00:00Z", 1_714_564_800_000),
            ("2024-05-01T12:00:00.1Z", 1_714_564_800_100),
            ("2024-05-01T12:00:00.123999999Z", 1_714_564_800_123),
            ("2024-05-01T13:30:00+01:30", 1_714_564_800_000),
            ("2024-05-01T00:00:00-12:00", 1_714_564_800_000),
            ("2024-02-29T00:00:00Z", 1_709_164_800_000),
            ("2000-02-29T00:00:00Z", 951_782_400_000),
        ] as [(String, Int64)]
    )
    func parsesRFC3339(text: String, ms: Int64) {
        #expect(rfc3339(text) == ms)
    }

    @Test(arguments: [
        "2024-05-01T12:00:00", "2024-05-01T12:00:00.Z", "2024-13-01T12:00:00Z", "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z", "2024-05-01T12:00:00+0100",
        "2024-05-01T12:00:00Zx", "2024-5-01T12:00:00Z", "2024-05-01X12:00:00Z", "2024-05-01T12:00:00+01:60",
    ])
    func rejectsMalformedRFC3339(text: String) {
        #expect(rfc3339(text) == nil)
    }

    @Test func agreesWithFoundationOnRandomInstants() throws {
        var rng = SplitMix64(seed: 99)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        for _ in 0..<500 {
            let seconds = Int64(rng.next() % 4_000_000_000)
            let text = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            #expect(rfc3339(text) == seconds * 1000, "\(text)")
        }
    }

    @Test(
        arguments: [
            ("1714564800", 1_714_564_800_000),
            ("1714564800.5", 1_714_564_800_500),
            ("1714564800.123", 1_714_564_800_123),
            ("1714564800.1239", 1_714_564_800_123),
            ("1714564800123", 1_714_564_800_123),
            ("1714564800123.9", 1_714_564_800_123),
            ("99999999999", 99_999_999_999_000),
            ("100000000000", 100_000_000_000),
            ("1.7145648e9", 1_714_564_800_000),
            ("1.7145648e12", 1_714_564_800_000),
            ("0", 0),
            ("-1.5", -1_500),
        ] as [(String, Int64)]
    )
    func convertsEpochNumbersBySecondsOrMilliseconds(literal: String, ms: Int64) {
        #expect(epoch(literal) == ms)
    }

    @Test func rejectsEpochNumbersOutOfRange() {
        #expect(epoch("1e300") == nil)
    }
}

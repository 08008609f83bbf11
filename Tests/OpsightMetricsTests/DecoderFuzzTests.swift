import Foundation
import Testing

@testable import OpsightMetrics

@Suite struct DecoderFuzzTests {
    static let seeds: [String] = [
        #"{"ts":"2024-05-01T11:59:00.250Z","service":"api","route":"/users/:id","method":"GET","status":200,"duration_ms":12.5}"#,
        #"{"service":"worker","queue":"q","job":"score","job_id":123,"event":"succeeded","duration":"1m30s","attempt":2}"#,
        #"{"service":"web","event":"signup","entity":"u-1","extra":{"a":[1,2.5e3,true,false,null,"\u00e9\ud83d\ude00"]}}"#,
        #"{"timestamp":1714564790.25,"service":"api","path":"/u/9f1c2d3e-4b5a-6789-abcd-ef0123456789?x","status_code":500,"latency_ms":3}"#,
        #"{"service":"api","severity":"warning","message":"disk \"full\"\n","lvl":10}"#,
    ]

    /// Applies a random mutation: overwrite, insert, delete, duplicate a span, or truncate.
    static func mutate(_ bytes: inout [UInt8], _ rng: inout SplitMix64) {
        let interesting: [UInt8] =
            Array(#"{}[]",:\u0123456789-+.eEtrfn "#.utf8) + [0x00, 0x0A, 0x0D, 0x80, 0xC3, 0xED, 0xF4, 0xFF]
        let position = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
        let byte =
            rng.next() % 2 == 0
            ? interesting[Int(rng.next() % UInt64(interesting.count))] : UInt8(truncatingIfNeeded: rng.next())
        switch rng.next() % 5 {
        case 0 where !bytes.isEmpty: bytes[position] = byte
        case 1: bytes.insert(byte, at: position)
        case 2 where !bytes.isEmpty: bytes.remove(at: position)
        case 3 where !bytes.isEmpty:
            let end = min(bytes.count, position + Int(rng.next() % 16))
            bytes.insert(contentsOf: bytes[position..<end], at: position)
        default: bytes.removeSubrange(position..<bytes.count)
        }
    }

    @Test(arguments: 0..<8)
    func randomMutationsNeverCrashAndAcceptedLinesAreValidJSON(seed: Int) throws {
        let decoder = EventDecoder()
        var rng = SplitMix64(seed: UInt64(seed) &* 0x1234_5678_9ABC_DEF1)
        var accepted = 0
        for round in 0..<2_000 {
            var line = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0...(rng.next() % 4) { Self.mutate(&line, &rng) }
            if let event = try? decoder.decode(bytes: line) {
                accepted += 1
                // An accepted line must be valid JSON to an independent parser, with the same service.
                let object = try #require(
                    try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                    "accepted invalid JSON: \(String(decoding: line, as: UTF8.self))"
                )
                if let service = object["service"] as? String { #expect(service == event.service) }
            }
            _ = line.withUnsafeBytes { decoder.decodeBatch($0, nowMs: testNowMs) }
        }
        #expect(accepted > 0)
    }

    @Test func randomBytesNeverCrashTheBatchDecoder() {
        let decoder = EventDecoder()
        var rng = SplitMix64(seed: 42)
        for _ in 0..<500 {
            let count = Int(rng.next() % 300)
            var body = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if rng.next() % 2 == 0 { body.insert(UInt8(ascii: "["), at: 0) }
            let batch = decoder.decodeBatch(bytes: body)
            #expect(batch.rejected >= batch.errors.count)
        }
    }
}

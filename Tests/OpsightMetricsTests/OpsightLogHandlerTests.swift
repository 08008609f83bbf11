import Foundation
import Logging
import Testing

@testable import OpsightMetrics

/// Log statements become `kind: log` lines the collector decodes, with metadata flattened to fields.
@Suite struct OpsightLogHandlerTests {
    /// The JSON object of a line, for the fields the decoder does not keep.
    static func object(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func levelsMessageMetadataAndRequestIDAreWritten() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport()
        let emitter = EmitterTestSupport.emitter(service: "assessments", transport: transport, clock: clock)
        var logger = Logger(label: "worker") { OpsightLogHandler(label: $0, emitter: emitter, logLevel: .trace) }
        logger[metadataKey: "team"] = "t1"
        logger.trace("t")
        logger.notice("n", metadata: ["hb.request.id": "abc", "db": ["table": "users", "rows": "3"]])
        logger.warning("w", metadata: ["msg": "shadow", "list": ["a", .stringConvertible(2)]])
        logger.critical("c")
        let loop = Task { await emitter.run() }
        await emitter.flush()
        let lines = transport.deliveredLines
        let events = try EmitterTestSupport.decode(lines)
        #expect(events.map(\.level) == [.debug, .info, .warn, .fatal])
        #expect(events.map(\.message) == ["t", "n", "w", "c"])
        #expect(events.allSatisfy { $0.kind == .log && $0.service == "assessments" && $0.timestampMs == testNowMs })
        let notice = try Self.object(lines[1])
        #expect(notice["request_id"] as? String == "abc")
        #expect(notice["hb.request.id"] == nil)
        #expect(notice["db.table"] as? String == "users")
        #expect(notice["team"] as? String == "t1")
        #expect(notice["logger"] as? String == "worker")
        let warning = try Self.object(lines[2])
        #expect(warning["_msg"] as? String == "shadow", "metadata named like a schema field must not replace it")
        #expect(warning["list"] as? [String] == ["a", "2"])
        emitter.shutdown()
        await finish(loop)
    }

    @Test(arguments: [11, 12, 13] as [UInt64])
    func randomMessagesAndMetadataRoundTrip(seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let clock = ManualClock()
        let transport = RecordingTransport()
        let emitter = EmitterTestSupport.emitter(
            transport: transport, clock: clock, configuration: .init(bufferCapacity: 1_000))
        let logger = Logger(label: "random") { OpsightLogHandler(label: $0, emitter: emitter, logLevel: .trace) }
        var expected: [(Logger.Level, String, [String: String])] = []
        for _ in 0..<300 {
            let level = Logger.Level.allCases.randomElement(using: &rng)!
            let message = RandomText.make(&rng, maxLength: 30)
            var metadata: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                metadata["k" + RandomText.make(&rng, minLength: 1, maxLength: 4)] = RandomText.make(&rng)
            }
            logger.log(level: level, "\(message)", metadata: metadata.mapValues { .string($0) })
            expected.append((level, message, metadata))
        }
        let loop = Task { await emitter.run() }
        await emitter.flush()
        let lines = transport.deliveredLines
        let events = try EmitterTestSupport.decode(lines)
        try #require(events.count == expected.count)
        for ((level, message, metadata), (event, line)) in zip(expected, zip(events, lines)) {
            #expect(event.level == OpsightLogHandler.level(level))
            #expect(event.message == message)
            let fields = try rawFields(line)
            for (key, value) in metadata { #expect(fields[key] == value, "\(line)") }
        }
        emitter.shutdown()
        await finish(loop)
    }
}

import Testing

@testable import OpsightMetrics

/// Every line the emitter writes must decode with the collector's ``EventDecoder`` to the same values.
@Suite struct EmittedLineDecodingTests {
    /// One random event and the ``Event`` the decoder must produce from its line.
    static func randomEvent(_ rng: inout SplitMix64, service: String) -> (PendingEvent, Event) {
        let timestampMs = testNowMs - Int64.random(in: 0..<86_000_000, using: &rng)
        var expected = Event(timestampMs: timestampMs, service: PendingEvent.identity(service), kind: .log)
        let payload: PendingEvent.Payload
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            let route = "/" + RandomText.make(&rng)
            let method = ["GET", "post", "Patch", "DELETE"].randomElement(using: &rng)!
            let status = Int.random(in: 100...599, using: &rng)
            let duration = Duration.nanoseconds(Int64.random(in: 0..<5_000_000_000, using: &rng))
            let durationMs = OpsightEmitter.milliseconds(duration)
            payload = .request(
                route: route, method: method, status: status, durationMs: durationMs,
                requestID: RandomText.make(&rng))
            expected.kind = .request
            expected.route = PendingEvent.identity(route)
            expected.method = method.uppercased()
            expected.status = status
            expected.durationMs = durationMs
        case 1:
            let event = JobEventType.allCases.randomElement(using: &rng)!
            let durationMs = Bool.random(using: &rng) ? Double.random(in: 0..<100_000, using: &rng) : nil
            let attempt = Bool.random(using: &rng) ? Int.random(in: 0...20, using: &rng) : nil
            let queue = RandomText.make(&rng, minLength: 1)
            let job = RandomText.make(&rng, minLength: 1)
            let jobID = RandomText.make(&rng, minLength: 1)
            let entity = Bool.random(using: &rng) ? RandomText.make(&rng, minLength: 1) : nil
            let waitMs = Bool.random(using: &rng) ? Double.random(in: 0..<100_000, using: &rng) : nil
            payload = .job(
                queue: queue, job: job, jobID: jobID, event: event, durationMs: durationMs, attempt: attempt,
                entity: entity, waitMs: waitMs)
            expected.kind = .job
            expected.queue = PendingEvent.identity(queue)
            expected.job = PendingEvent.identity(job)
            expected.jobID = PendingEvent.identity(jobID)
            expected.jobEvent = event
            expected.durationMs = durationMs
            expected.attempt = attempt
            expected.entity = entity.map(PendingEvent.identity)
            // Only a start carries its queue wait.
            expected.waitMs = event == .started ? waitMs : nil
        case 2:
            let name = RandomText.make(&rng, minLength: 1)
            let entity = RandomText.make(&rng, minLength: 1)
            payload = .funnel(event: name, entity: entity)
            expected.kind = .event
            expected.name = PendingEvent.identity(name)
            expected.entity = PendingEvent.identity(entity)
        default:
            let level = LogLevel.allCases.randomElement(using: &rng)!
            let message = RandomText.make(&rng, maxLength: 40)
            payload = .log(level: level, message: message)
            expected.level = level
            expected.message = message
        }
        var fields: [String: FieldValue] = [:]
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            // Names that collide with schema keys must not change how the line decodes.
            let name =
                Bool.random(using: &rng)
                ? ["msg", "status", "kind", "service", "ts", "level", "event", "duration"].randomElement(using: &rng)!
                : RandomText.make(&rng, minLength: 1)
            fields[name] = .string(RandomText.make(&rng))
        }
        return (PendingEvent(timestampMs: timestampMs, payload: payload, fields: fields), expected)
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func everyRandomEventDecodesToTheSameValues(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let decoder = EventDecoder()
        var writer = JSONLineWriter()
        for _ in 0..<2_000 {
            let service = RandomText.make(&rng, minLength: 1, maxLength: 8)
            let (event, expected) = Self.randomEvent(&rng, service: service)
            writer.reset()
            #expect(!event.encode(service: service, maxLineBytes: 65_536, into: &writer))
            #expect(writer.bytes.last == 0x0A)
            let line = Array(writer.bytes.dropLast())
            #expect(!line.contains(0x0A), "a raw newline would split the line")
            let decoded = try decoder.decode(bytes: line)
            #expect(decoded == expected, "seed \(seed): \(String(decoding: line, as: UTF8.self))")
        }
    }

    @Test func identityFieldsAreWrittenSoTheCollectorAcceptsThem() throws {
        let dirty = "a\u{0}b\u{1F}c\u{7F}" + String(repeating: "é", count: 200)
        let event = PendingEvent(
            timestampMs: testNowMs,
            payload: .job(
                queue: dirty, job: dirty, jobID: dirty, event: .started, durationMs: nil, attempt: nil, entity: dirty),
            fields: [:])
        var writer = JSONLineWriter()
        #expect(!event.encode(service: dirty, maxLineBytes: 65_536, into: &writer))
        let decoded = try EventDecoder().decode(bytes: Array(writer.bytes.dropLast()))
        let clean = try #require(decoded.queue)
        #expect(clean.hasPrefix("a\u{FFFD}b\u{FFFD}c\u{FFFD}é"))
        #expect(clean.utf8.count <= 256)
        #expect(decoded.service == clean && decoded.job == clean && decoded.jobID == clean && decoded.entity == clean)
    }

    @Test func oversizedEventsAreTruncatedToALineTheCollectorAccepts() throws {
        let huge = String(repeating: "\u{1}é\"", count: 40_000)
        let event = PendingEvent(
            timestampMs: testNowMs, payload: .log(level: .error, message: huge), fields: ["big": .string(huge)])
        var writer = JSONLineWriter()
        #expect(event.encode(service: "svc", maxLineBytes: 65_536, into: &writer))
        #expect(writer.bytes.count - 1 <= 65_536)
        let decoded = try EventDecoder().decode(bytes: Array(writer.bytes.dropLast()))
        #expect(decoded.level == .error)
        #expect(huge.hasPrefix(try #require(decoded.message)))
    }

    @Test(arguments: [0, 1, 999, 1_714_564_800_123, 951_782_400_000, 4_102_444_799_999, -1] as [Int64])
    func timestampsRoundTripThroughRFC3339(ms: Int64) {
        var bytes: [UInt8] = []
        Timestamp.appendRFC3339(ms, to: &bytes)
        let parsed = bytes.withUnsafeBufferPointer { Timestamp.parseRFC3339($0) }
        #expect(parsed == ms, "\(String(decoding: bytes, as: UTF8.self))")
    }

    @Test func randomTimestampsRoundTripThroughRFC3339() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<10_000 {
            let ms = Int64.random(in: 0..<253_402_300_799_999, using: &rng)
            var bytes: [UInt8] = []
            Timestamp.appendRFC3339(ms, to: &bytes)
            #expect(bytes.withUnsafeBufferPointer { Timestamp.parseRFC3339($0) } == ms)
        }
    }

    @Test(arguments: [0.0, 1.5, 0.000_01, 123_456.789, 1e21, 3.0e-7, 12.345_678_901_234_567])
    func numbersRoundTripExactly(value: Double) throws {
        var writer = JSONLineWriter()
        writer.number(value)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(Double(text) == value, "\(text)")
    }
}

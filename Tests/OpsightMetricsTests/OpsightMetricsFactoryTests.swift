import CoreMetrics
import Foundation
import Testing

@testable import OpsightMetrics

/// swift-metrics series map onto request, job and funnel events; the rest is reported as aggregates.
@Suite struct OpsightMetricsFactoryTests {
    @Test func timersAndCountersBecomeEvents() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport()
        let emitter = EmitterTestSupport.emitter(transport: transport, clock: clock)
        let factory = OpsightMetricsFactory(emitter: emitter, clock: clock)
        // Hummingbird's MetricsMiddleware dimensions.
        let request = Timer(
            label: "http.server.request.duration",
            dimensions: [
                ("http.route", "/api/v1/assessments/:id"), ("http.request.method", "GET"),
                ("http.response.status_code", "503"),
            ],
            factory: factory)
        request.recordMilliseconds(42)
        Timer(
            label: "job.duration", dimensions: [("queue", "ai"), ("job", "score"), ("event", "failed")],
            factory: factory
        )
        .recordSeconds(2)
        Counter(label: "signup_completed", dimensions: [("entity", "user-7")], factory: factory).increment()
        let loop = Task { await emitter.run() }
        await emitter.flush()
        let events = try EmitterTestSupport.decode(transport.deliveredLines)
        try #require(events.count == 3)
        #expect(events[0].kind == .request)
        #expect(events[0].route == "/api/v1/assessments/:id")
        #expect(events[0].method == "GET")
        #expect(events[0].status == 503)
        #expect(events[0].durationMs == 42)
        #expect(events[1].kind == .job)
        #expect(events[1].queue == "ai" && events[1].job == "score" && events[1].jobEvent == .failed)
        #expect(events[1].durationMs == 2_000)
        #expect(events[1].jobID == "job.duration-1")
        #expect(events[2].kind == .event && events[2].name == "signup_completed" && events[2].entity == "user-7")
        emitter.shutdown()
        await finish(loop)
    }

    @Test func otherSeriesAreAggregatedAndReportedPeriodically() async throws {
        let clock = ManualClock()
        let transport = RecordingTransport()
        let emitter = EmitterTestSupport.emitter(transport: transport, clock: clock)
        let factory = OpsightMetricsFactory(
            emitter: emitter, configuration: .init(reportInterval: .seconds(10)), clock: clock)
        let counter = Counter(label: "cache_hits_total", dimensions: [("cache", "users")], factory: factory)
        for _ in 0..<5 { counter.increment() }
        Counter(label: "cache_hits_total", dimensions: [("cache", "users")], factory: factory).increment(by: 2)
        let recorder = Recorder(label: "batch_size", factory: factory)
        for value in [3, 9, 6] { recorder.record(value) }
        Gauge(label: "queue_depth", factory: factory).record(17)
        let reporter = Task { await factory.run() }
        let loop = Task { await emitter.run() }
        try await eventually("the reporter sleeps") { clock.sleeperCount >= 1 && clock.nextWake == .seconds(10) }
        clock.advance(by: .seconds(10))
        try await eventually("a report was written") { emitter.statistics.emitted == 3 }
        await emitter.flush()
        var reports: [String: [String: Any]] = [:]
        for line in transport.deliveredLines {
            let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["kind"] as? String == "log")
            reports[object["metric"] as! String] = object
        }
        #expect(reports["cache_hits_total"]?["value"] as? Int == 7, "a counter is cached per series")
        #expect(reports["cache_hits_total"]?["cache"] as? String == "users")
        #expect(reports["batch_size"]?["count"] as? Int == 3)
        #expect(reports["batch_size"]?["sum"] as? Int == 18)
        #expect(reports["batch_size"]?["max"] as? Int == 9)
        #expect(reports["queue_depth"]?["value"] as? Int == 17)
        #expect(reports["queue_depth"]?["metric_type"] as? String == "gauge")
        reporter.cancel()
        await finish(reporter)
        emitter.shutdown()
        await finish(loop)
    }
}

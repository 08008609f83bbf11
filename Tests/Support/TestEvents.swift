import Foundation
import OpsightMetrics

import Collector

/// A fresh temporary directory, removed by the caller.
public func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "opsight-test-" + UUID().uuidString
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Random request, job and log events with timestamps in `(baseMs − spanMs, baseMs]`.
public func randomEvents(count: Int, baseMs: Int64, spanMs: Int64, rng: inout SplitMix64) -> [Event] {
    let services = ["api", "worker", "web"]
    let routes = ["/a", "/b/:id", "/c"]
    var out: [Event] = []
    for i in 0..<count {
        let ts = baseMs - Int64.random(in: 0..<spanMs, using: &rng)
        let service = services.randomElement(using: &rng)!
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<6:
            var e = Event(timestampMs: ts, service: service, kind: .request)
            e.route = routes.randomElement(using: &rng)!
            e.method = ["GET", "POST"].randomElement(using: &rng)!
            e.status = [200, 200, 201, 404, 500, 503].randomElement(using: &rng)!
            e.durationMs = Bool.random(using: &rng) ? 0 : exp(Double.random(in: 0...8, using: &rng))
            out.append(e)
        case 6..<8:
            var e = Event(timestampMs: ts, service: service, kind: .job)
            e.queue = "q"
            e.job = "j"
            e.jobID = "job-\(i % 50)"
            e.jobEvent = JobEventType.allCases.randomElement(using: &rng)!
            e.durationMs = Double.random(in: 1...5000, using: &rng)
            out.append(e)
        default:
            var e = Event(timestampMs: ts, service: service, kind: .log)
            e.level = LogLevel.allCases.randomElement(using: &rng)!
            out.append(e)
        }
    }
    return out
}

/// NDJSON for `events` as a client would send it.
public func ndjson(_ events: [Event]) -> [UInt8] {
    var text = ""
    for e in events {
        var fields = ["\"ts\":\(e.timestampMs)", "\"service\":\"\(e.service)\""]
        switch e.kind {
        case .request:
            fields += [
                "\"route\":\"\(e.route!)\"", "\"method\":\"\(e.method!)\"", "\"status\":\(e.status!)",
                "\"duration_ms\":\(e.durationMs!)",
            ]
        case .job:
            fields += [
                "\"kind\":\"job\"", "\"queue\":\"\(e.queue!)\"", "\"job\":\"\(e.job!)\"", "\"job_id\":\"\(e.jobID!)\"",
                "\"event\":\"\(e.jobEvent!.rawString)\"", "\"duration_ms\":\(e.durationMs!)",
            ]
        case .log:
            fields += ["\"level\":\"\(e.level!.rawString)\"", "\"msg\":\"hello\""]
        case .event:
            fields += ["\"event\":\"\(e.name!)\"", "\"entity\":\"\(e.entity!)\""]
        }
        text += "{" + fields.joined(separator: ",") + "}\n"
    }
    return Array(text.utf8)
}

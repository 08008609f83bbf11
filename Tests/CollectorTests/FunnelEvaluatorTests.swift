import OpsightMetrics
import Testing

@testable import Collector

/// The ordered funnel evaluation against a brute-force oracle that tries every choice of step events, over
/// generated journeys: complete, abandoned at each step, too slow, repeated attempts, recorded out of order.
@Suite struct FunnelEvaluatorTests {
    static let steps = 4
    static let conversionMs: Int64 = 3_600_000

    /// Every path through the steps from start `s`: the deepest reachable and the earliest full completion.
    static func oracleAttempt(_ times: [[Int64]], s: Int64, t: Int64) -> (depth: Int, completion: Int64?) {
        var depth = 1
        var completion: Int64?
        func walk(_ k: Int, _ previous: Int64) {
            depth = max(depth, k)
            if k == steps {
                completion = min(completion ?? .max, previous)
                return
            }
            for x in times[k] where x >= previous && x <= s + conversionMs && x <= t { walk(k + 1, x) }
        }
        walk(1, s)
        return (depth, completion)
    }

    static func oracle(_ entities: [[[Int64]]], windowMs: Int64, t: Int64) -> FunnelEvaluator.Result {
        var r = FunnelEvaluator.Result(steps: steps)
        for times in entities {
            let starts = Set(times[0]).filter { $0 > t - windowMs && $0 <= t }.sorted()
            guard !starts.isEmpty else { continue }
            r.entered += 1
            let attempts = starts.map { ($0, oracleAttempt(times, s: $0, t: t)) }
            let best = attempts.map(\.1.depth).max()!
            for k in 0..<best { r.reached[k] += 1 }
            if let (s, a) = attempts.first(where: { $0.1.completion != nil }) {
                r.timesToConvertMs.append(a.completion! - s)
            }
        }
        return r
    }

    /// One entity's step times: some journeys of random shape.
    static func journey(_ rng: inout SplitMix64, base: Int64) -> [[Int64]] {
        var times: [[Int64]] = Array(repeating: [], count: steps)
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            var t = base + Int64.random(in: 0..<7_200_000, using: &rng)
            times[0].append(t)
            let stop = Int.random(in: 1...steps, using: &rng)  // abandoned after `stop` steps
            for k in 1..<stop {
                // Mostly quick, sometimes slower than the conversion window allows, sometimes simultaneous.
                t += [0, Int64.random(in: 1...600_000, using: &rng), Int64.random(in: 1...2_400_000, using: &rng)]
                    .randomElement(using: &rng)!
                times[k].append(t)
            }
            // Stray later-step events that belong to no attempt, some before any start.
            if Bool.random(using: &rng) {
                times[Int.random(in: 1..<steps, using: &rng)].append(
                    base + Int64.random(in: -600_000..<7_200_000, using: &rng))
            }
        }
        return times
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func matchesTheBruteForceOracle(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let base: Int64 = 1_795_000_000_000
        let entities = (0..<1_500).map { _ in Self.journey(&rng, base: base) }
        let progress: [EntityProgress] = entities.map { times in
            // Recorded in a random order, with repeats (a replay), as collectors may see them.
            var records = times.enumerated().flatMap { k, list in list.map { (k, $0) } }
            records += records.prefix(2)
            records.shuffle(using: &rng)
            var p = EntityProgress(steps: Self.steps)
            var unsorted: [[Int64]] = Array(repeating: [], count: Self.steps)
            for (k, x) in records {
                p.record(step: k, at: x)
                unsorted[k].append(x)
            }
            // Sorting once gives the same progress as recording one by one.
            #expect(EntityProgress(unsortedStepTimes: unsorted) == p)
            return p
        }
        for (windowMs, t) in [
            (Int64(3_600_000), base + 3_600_000), (3_600_000, base + 7_200_000), (86_400_000, base + 9_000_000),
            (600_000, base + 5_000_000),
        ] {
            let got = FunnelEvaluator.evaluate(
                progress, steps: Self.steps, conversionMs: Self.conversionMs, windowMs: windowMs, at: t)
            let want = Self.oracle(entities, windowMs: windowMs, t: t)
            #expect(got.entered == want.entered, "entered, window \(windowMs) at \(t)")
            #expect(got.reached == want.reached, "reached, window \(windowMs) at \(t)")
            #expect(got.timesToConvertMs.sorted() == want.timesToConvertMs.sorted(), "time to convert")
            #expect(got.entered > 0 && got.reached[Self.steps - 1] > 0, "the corpus exercises conversions")
        }
    }

    /// `evaluateWithHorizon`: the brute-force oracle's figures, and the oracle's same figures at every time before the
    /// time it says they may change — checked at the last millisecond before it and at random times in between — over few
    /// entities (so that the time is often an edge where the figures do change) and many.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func figuresHoldUntilTheTimeTheyMayChange(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let base: Int64 = 1_795_000_000_000
        func same(_ a: FunnelEvaluator.Result, _ b: FunnelEvaluator.Result) -> Bool {
            a.entered == b.entered && a.reached == b.reached
                && a.timesToConvertMs.sorted() == b.timesToConvertMs.sorted()
        }
        var changed = 0
        for round in 0..<300 {
            let journeys = (0..<(round % 3 == 0 ? 200 : Int.random(in: 1...4, using: &rng))).map { _ in
                Self.journey(&rng, base: base)
            }
            let entities = journeys.map { EntityProgress(unsortedStepTimes: $0) }
            let windowMs = [Int64(60_000), 600_000, 3_600_000, 86_400_000].randomElement(using: &rng)!
            let t = base + Int64.random(in: -600_000..<9_000_000, using: &rng)
            let (got, changesAt) = FunnelEvaluator.evaluateWithHorizon(
                entities, steps: Self.steps, conversionMs: Self.conversionMs, windowMs: windowMs, at: t)
            let at = Self.oracle(journeys, windowMs: windowMs, t: t)
            #expect(same(got, at), "the figures at t, against the brute-force oracle")
            #expect(changesAt > t)
            let horizon = changesAt == .max ? t + 100_000_000 : changesAt
            var times = [horizon - 1]
            for _ in 0..<5 { times.append(Int64.random(in: t..<horizon, using: &rng)) }
            for time in times {
                let later = Self.oracle(journeys, windowMs: windowMs, t: time)
                #expect(
                    same(later, got),
                    "window \(windowMs): the figures at \(time - t) ms after t, before \(changesAt - t)")
            }
            if changesAt != .max {
                let then = Self.oracle(journeys, windowMs: windowMs, t: changesAt)
                if !same(then, got) { changed += 1 }
            }
        }
        // The time it gives is mostly a real edge, not merely a safe one.
        #expect(changed > 100, "\(changed) of 300 changed at the time given")
    }

    /// Records are stored under the definition's fingerprint: other steps, another order or another matcher
    /// start a fresh history; a step's label and the conversion window do not.
    @Test func storageNameFollowsTheStepMatchers() {
        let a = FunnelStep(name: "a", matcher: .event("a"))
        let b = FunnelStep(name: "b", matcher: .fields(["kind": "job", "event": "succeeded"]))
        let base = FunnelDefinition(name: "f", windowMs: 60_000, steps: [a, b])
        #expect(base.storageName.hasPrefix("f#") && base.storageName.count == 10)
        #expect(
            FunnelDefinition(name: "f", windowMs: 1, steps: [a, FunnelStep(name: "done", matcher: b.matcher)])
                .storageName == base.storageName)
        #expect(FunnelDefinition(name: "f", windowMs: 60_000, steps: [b, a]).storageName != base.storageName)
        #expect(FunnelDefinition(name: "f", windowMs: 60_000, steps: [a]).storageName != base.storageName)
        let c = FunnelStep(name: "b", matcher: .fields(["kind": "job", "event": "failed"]))
        #expect(FunnelDefinition(name: "f", windowMs: 60_000, steps: [a, c]).storageName != base.storageName)
        #expect(FunnelDefinition(name: "g", windowMs: 60_000, steps: [a, b]).storageName != base.storageName)
    }

    @Test func stepsMatchEventNamesAndFieldMatchers() {
        let funnel = FunnelDefinition(
            name: "journey", windowMs: 3_600_000,
            steps: [
                FunnelStep(name: "document_uploaded", matcher: .event("document_uploaded")),
                FunnelStep(
                    name: "assessment_requested",
                    matcher: .fields([
                        "kind": "request", "route": "/api/v1/assessments", "method": "POST", "status_class": "2xx",
                    ])),
                FunnelStep(
                    name: "assessment_completed",
                    matcher: .fields(["kind": "job", "queue": "assessments", "event": "succeeded"])),
            ])
        var uploaded = Event(timestampMs: 1, service: "a", kind: .event)
        uploaded.name = "document_uploaded"
        var post = Event(timestampMs: 2, service: "a", kind: .request)
        post.route = "/api/v1/assessments"
        post.method = "POST"
        post.status = 202
        var failedPost = post
        failedPost.status = 500
        var job = Event(timestampMs: 3, service: "a", kind: .job)
        job.queue = "assessments"
        job.jobEvent = .succeeded
        var failedJob = job
        failedJob.jobEvent = .failed
        #expect(funnel.steps(matching: uploaded) == [0])
        #expect(funnel.steps(matching: post) == [1])
        #expect(funnel.steps(matching: failedPost).isEmpty)
        #expect(funnel.steps(matching: job) == [2])
        #expect(funnel.steps(matching: failedJob).isEmpty)
    }
}

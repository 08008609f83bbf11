/// Ordered funnel conversion over the window `(t − W, t]`, exactly as SPEC §5 defines it.
///
/// Every step-1 event starts an attempt; an attempt reaches step k when steps 2…k follow in that order, each at
/// or after the previous, all at most the conversion window after the attempt's step-1 time, and all at or
/// before t. Each entity counts once, by its best attempt among those whose step-1 time is in the window. The
/// time to convert is last step − step 1 of the entity's earliest converting attempt.
public enum FunnelEvaluator {
    /// The window's figures.
    public struct Result: Sendable, Equatable {
        /// Entities with an attempt starting in the window.
        public var entered = 0
        /// Entities whose best attempt reached each step (index 0 is step 1, equal to `entered`).
        public var reached: [Int]
        /// Time to convert of each converting entity, ms, in no particular order.
        public var timesToConvertMs: [Int64] = []

        /// An empty result for `steps` steps.
        public init(steps: Int) {
            reached = Array(repeating: 0, count: steps)
        }
    }

    /// Evaluates `entities` for window `(t − windowMs, t]` with conversion window `conversionMs`.
    public static func evaluate(
        _ entities: some Sequence<EntityProgress>, steps: Int, conversionMs: Int64, windowMs: Int64, at t: Int64
    ) -> Result {
        evaluateWithHorizon(entities, steps: steps, conversionMs: conversionMs, windowMs: windowMs, at: t).result
    }

    /// ``evaluate(_:steps:conversionMs:windowMs:at:)`` and the first time after `t` at which the figures may differ
    /// (`Int64.max`: none): the earliest record later than `t` (it counts once the window's end reaches it), or the
    /// earliest first step in the window plus `windowMs` (its attempt leaves the window then). With the records
    /// unchanged, the figures at any time in `[t, changesAt)` are the figures at `t`.
    public static func evaluateWithHorizon(
        _ entities: some Sequence<EntityProgress>, steps: Int, conversionMs: Int64, windowMs: Int64, at t: Int64
    ) -> (result: Result, changesAt: Int64) {
        var result = Result(steps: steps)
        var changesAt = Int64.max
        let (after, _) = t.addingReportingOverflow(1)
        for entity in entities {
            for times in entity.stepTimes {
                let j = EntityProgress.firstIndex(in: times, atLeast: after)
                if j < times.count { changesAt = min(changesAt, times[j]) }
            }
            let starts = entity.stepTimes[0]
            let i = EntityProgress.firstIndex(in: starts, atLeast: t - windowMs + 1)
            if i < starts.count, starts[i] <= t {
                let (leaves, overflow) = starts[i].addingReportingOverflow(windowMs)
                if !overflow { changesAt = min(changesAt, leaves) }
            }
            guard
                let (best, convertMs) = best(
                    entity, steps: steps, conversionMs: conversionMs, windowMs: windowMs, at: t)
            else { continue }
            result.entered += 1
            for k in 0..<best { result.reached[k] += 1 }
            if let convertMs { result.timesToConvertMs.append(convertMs) }
        }
        return (result, changesAt)
    }

    /// The entity's best depth (1…steps) and, when it converted, the time to convert of its earliest
    /// converting attempt; nil when no attempt starts in the window.
    static func best(_ e: EntityProgress, steps: Int, conversionMs: Int64, windowMs: Int64, at t: Int64)
        -> (Int, Int64?)?
    {
        let starts = e.stepTimes[0]
        var i = EntityProgress.firstIndex(in: starts, atLeast: t - windowMs + 1)
        guard i < starts.count, starts[i] <= t else { return nil }
        var bestDepth = 0
        var convert: Int64?
        while i < starts.count, starts[i] <= t {
            let s = starts[i]
            let deadline = min(s + conversionMs, t)
            var depth = 1
            var previous = s
            // Taking the earliest qualifying time at each step reaches at least as deep as any other choice and
            // finishes earliest, so it gives both the attempt's depth and its time to convert.
            while depth < steps {
                let times = e.stepTimes[depth]
                let j = EntityProgress.firstIndex(in: times, atLeast: previous)
                guard j < times.count, times[j] <= deadline else { break }
                previous = times[j]
                depth += 1
            }
            bestDepth = max(bestDepth, depth)
            if depth == steps && convert == nil { convert = previous - s }
            if bestDepth == steps && convert != nil { break }
            i += 1
        }
        return (bestDepth, convert)
    }
}

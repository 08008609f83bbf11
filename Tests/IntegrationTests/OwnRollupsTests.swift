import Collector
import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Storage

/// What ``OwnRollups`` keeps: a commit's cells until taken (without its facts and funnel steps), none past its byte cap
/// (the oldest let go first), nothing withdrawn, nothing at or before a cursor's positions.
struct OwnRollupsTests {
    func delta(_ seed: UInt64) -> Delta {
        var rng = SplitMix64(seed: seed)
        let events = randomEvents(count: 50, baseMs: 1_800_000_000_000, spanMs: 600_000, rng: &rng)
        return BatchAggregate(events: events, rules: .init()).durable
    }

    /// A commit's cells alone (what the registry keeps of it) and their estimated bytes.
    func cellsOnly(_ seed: UInt64) -> (delta: Delta, bytes: Int) {
        var cells = delta(seed)
        cells.jobFacts = []
        cells.funnelSteps = []
        return (cells, cells.estimatedBytes)
    }

    @Test func cellsAreTakenOnceWithoutFactsAndWithdrawnOnesAreGone() {
        let own = OwnRollups()
        let d = delta(1)
        own.register(d, collector: "a", position: 5)
        own.register(delta(2), collector: "a", position: 6)
        own.withdraw(collector: "a", position: 6)
        var cells = d
        cells.jobFacts = []
        cells.funnelSteps = []
        #expect(own.take(collector: "b", position: 5) == nil)
        #expect(own.take(collector: "a", position: 5) == cells)
        #expect(own.take(collector: "a", position: 5) == nil, "taken once")
        #expect(own.take(collector: "a", position: 6) == nil, "withdrawn")
        #expect(own.count == 0)
    }

    @Test func theOldestAreLetGoPastTheCapAndCursorsDropWhatTheyPassed() {
        let (one, cells) = cellsOnly(3)
        let own = OwnRollups(maxBytes: cells * 3 + cells / 2)
        for p in 1...5 { own.register(one, collector: "a", position: Int64(p)) }
        #expect(own.count == 3)
        #expect(own.take(collector: "a", position: 2) == nil, "let go for the cap")
        #expect(own.take(collector: "a", position: 3) != nil)
        own.register(one, collector: "b", position: 1)
        own.forget(through: ["a": 4, "c": 100])
        #expect(own.take(collector: "a", position: 4) == nil, "passed by the cursor")
        #expect(own.take(collector: "a", position: 5) != nil)
        #expect(own.take(collector: "b", position: 1) != nil, "another collector's, not passed")
        let big = OwnRollups(maxBytes: cells - 1)
        big.register(one, collector: "a", position: 1)
        #expect(big.count == 0, "alone past the cap: not kept")
    }

    /// Nothing is kept while no reader follows the feed, and what was kept is let go when the last one stops.
    @Test func nothingIsKeptUnfollowed() {
        let (one, _) = cellsOnly(5)
        let own = OwnRollups()
        own.register(one, collector: "a", position: 1)
        #expect(own.count == 1)
        own.isFollowed = false
        #expect(own.count == 0, "let go")
        own.register(one, collector: "a", position: 2)
        #expect(own.count == 0, "not kept unfollowed")
        #expect(own.take(collector: "a", position: 2) == nil)
        own.isFollowed = true
        own.register(one, collector: "a", position: 3)
        #expect(own.take(collector: "a", position: 3) != nil)
    }

    /// The long window cache is woken once a quarter of the cap is kept, not before.
    @Test func keepingAQuarterOfTheCapWakesTheCache() {
        let (one, cells) = cellsOnly(4)
        let own = OwnRollups(maxBytes: cells * 8 + cells / 2)
        own.register(one, collector: "a", position: 1)
        own.register(one, collector: "a", position: 2)
        #expect(!own.wake.isPending, "two of eight and a half: below a quarter")
        own.register(one, collector: "a", position: 3)
        #expect(own.wake.isPending, "three: past a quarter")
    }
}

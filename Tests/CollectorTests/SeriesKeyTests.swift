import OpsightMetrics
import OpsightTestSupport
import Testing

@testable import Collector

/// Series keys hash their labels once (``LabelTriple``): equality must still be exactly equality of the
/// labels, and equal keys must hash alike however their strings were made.
@Suite struct SeriesKeyTests {
    /// Labels that run into each other when concatenated, and strings built separately from equal text.
    static let parts = ["", "a", "ab", "b", "bc", "c", "/api/v1/assessments/{id}", "/api/v1/assessments/{id}/x", "é", "e\u{301}"]

    @Test func equalityIsTheLabelsAndEqualKeysHashAlike() {
        var rng = SplitMix64(seed: 7)
        func pick() -> String {
            // A fresh String each time (not one shared storage), so == cannot short-cut on identity.
            String(decoding: Array(Self.parts[Int(rng.next() % UInt64(Self.parts.count))].utf8), as: UTF8.self)
        }
        for _ in 0..<5_000 {
            let (s1, r1, m1, s2, r2, m2) = (pick(), pick(), pick(), pick(), pick(), pick())
            let a = RequestKey(service: s1, route: r1, method: m1)
            let b = RequestKey(service: s2, route: r2, method: m2)
            #expect((a == b) == (s1 == s2 && r1 == r2 && m1 == m2))
            if a == b { #expect(a.hashValue == b.hashValue) }
            let j = JobKey(service: s1, queue: r1, job: m1)
            let k = JobKey(service: s2, queue: r2, job: m2)
            #expect((j == k) == (s1 == s2 && r1 == r2 && m1 == m2))
            if j == k { #expect(j.hashValue == k.hashValue) }
        }
    }

    @Test func labelsThatConcatenateAlikeAreDifferentKeysInADictionary() {
        var cells: [Bucketed<RequestKey>: Int] = [:]
        cells[Bucketed(RequestKey(service: "a", route: "bc", method: "GET"), bucket: 1), default: 0] += 1
        cells[Bucketed(RequestKey(service: "ab", route: "c", method: "GET"), bucket: 1), default: 0] += 1
        cells[Bucketed(RequestKey(service: "a", route: "bc", method: "GET"), bucket: 2), default: 0] += 1
        cells[Bucketed(RequestKey(service: "a", route: "bc", method: "GET"), bucket: 1), default: 0] += 1
        #expect(cells.count == 3)
        #expect(cells[Bucketed(RequestKey(service: "a", route: "bc", method: "GET"), bucket: 1)] == 2)
    }
}

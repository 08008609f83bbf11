import Foundation
import OpsightMetrics
import OpsightTestSupport
import Synchronization
import Testing

@testable import Collector

/// Series keys hold a number from ``SeriesLabels``: equality must still be exactly equality of the labels, equal
/// keys must hash alike however their strings were made, and the labels must read back as they were given.
@Suite struct SeriesKeyTests {
    /// Labels that run into each other when concatenated, and strings built separately from equal text.
    static let parts = [
        "", "a", "ab", "b", "bc", "c", "/api/v1/assessments/{id}", "/api/v1/assessments/{id}/x", "é", "e\u{301}",
    ]

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
            #expect(a.service == s1 && a.route == r1 && a.method == m1)
            if a == b { #expect(a.hashValue == b.hashValue) }
            let j = JobKey(service: s1, queue: r1, job: m1)
            let k = JobKey(service: s2, queue: r2, job: m2)
            #expect((j == k) == (s1 == s2 && r1 == r2 && m1 == m2))
            #expect(k.service == s2 && k.queue == r2 && k.job == m2)
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

    /// A cell of a series key hashes by its number and bucket without `Hasher` (``Bucketed/_rawHashValue(seed:)``):
    /// over the shape of real traffic (10 000 series × an hour of 10-second buckets, and negative and far buckets) distinct
    /// cells get distinct hashes under any seed, the low bits a dictionary places by spread like a random function's,
    /// and dictionaries of such cells and of service-name cells hold exactly what a reference count says.
    @Test func cellsOfSeriesKeysHashApartAndFillDictionariesExactly() {
        let keys = (0..<10_000).map { RequestKey(service: "svc\($0 % 7)", route: "/r/\($0)", method: "GET") }
        let buckets = Array(Int64(180_000_000)..<180_000_360) + [-1, 0, 1, Int64.min, Int64.max, 1 << 32, (1 << 32) + 1]
        for seed in [0, 1, -1, 0x5EED_1234_5678, Int.max] {
            var hashes = Set<Int>()
            var slots = [Int](repeating: 0, count: 1 << 16)
            var cells = 0
            for key in keys.prefix(2_000) {
                for bucket in buckets {
                    let h = Bucketed(key, bucket: bucket)._rawHashValue(seed: seed)
                    hashes.insert(h)
                    slots[h & 0xFFFF] += 1
                    cells += 1
                }
            }
            #expect(hashes.count == cells, "seed \(seed)")
            // Series keys alone (a window's or a query's dictionaries) hash by their number the same way.
            #expect(Set(keys.map { $0._rawHashValue(seed: seed) }).count == keys.count, "seed \(seed)")
            let jobKeys = keys.prefix(500).map { JobKey(service: $0.service, queue: $0.route, job: $0.method) }
            #expect(Set(jobKeys.map { $0._rawHashValue(seed: seed) }).count == jobKeys.count, "seed \(seed)")
            // 734 000 cells in 65 536 slots: ~11.2 a slot; a random function's fullest slot holds ~28.
            #expect(slots.max()! < 40, "seed \(seed): \(slots.max()!)")
        }
        var rng = SplitMix64(seed: 11)
        var requestCells: [Bucketed<RequestKey>: Int] = [:]
        var logCells: [Bucketed<String>: Int] = [:]
        var reference: [String: Int] = [:]
        for _ in 0..<200_000 {
            let i = Int(rng.next() % 10_000)
            let bucket = buckets[Int(rng.next() % UInt64(buckets.count))]
            requestCells[Bucketed(keys[i], bucket: bucket), default: 0] += 1
            logCells[Bucketed(keys[i].service, bucket: bucket), default: 0] += 1
            reference["\(i) \(bucket)", default: 0] += 1
        }
        #expect(requestCells.count == reference.count)
        for (cell, n) in requestCells {
            #expect(reference["\(Int(cell.key.route.dropFirst(3))!) \(cell.bucket)"] == n)
        }
        #expect(logCells.values.reduce(0, +) == 200_000)
        var bySeries: [RequestKey: Int] = [:]
        for (cell, n) in requestCells { bySeries[cell.key, default: 0] += n }
        #expect(bySeries.count == Set(requestCells.keys.map(\.key.route)).count)
        #expect(bySeries.values.reduce(0, +) == 200_000)
        #expect(Set(logCells.keys.map(\.key)).count == 7)
    }

    /// Four threads number the same 30 000 triples (and 30 000 of their own each) at once, in the same and in different
    /// orders, on
    /// a table that starts small and grows several times meanwhile: every triple gets one number, distinct triples
    /// distinct numbers, and each number reads back its own labels.
    @Test func threadsNumberingAtOnceAgree() async {
        func fresh(_ s: String) -> String { String(decoding: Array(s.utf8), as: UTF8.self) }
        let table = SeriesLabels()
        let shared = (0..<30_000).map { i in
            ("svc-\(i % 37)", "/api/v\(i % 5)/things/{id}/part-\(i)", i % 3 == 0 ? "GET" : "POST")
        }
        let results = await withTaskGroup(of: [Int: UInt32].self) { group in
            for t in 0..<4 {
                group.addTask {
                    var ids: [Int: UInt32] = [:]
                    var rng = SplitMix64(seed: UInt64(t + 1))
                    // Two threads in the same order (racing for each new triple), two shuffled.
                    var order = Array(shared.indices)
                    if t >= 2 { order.shuffle(using: &rng) }
                    for (n, i) in order.enumerated() {
                        // Fresh strings, so a probe compares bytes and not one shared storage.
                        let (a, b, c) = shared[i]
                        ids[i] = table.id(fresh(a), fresh(b), fresh(c))
                        let own = table.id("own-\(t)", "\(n)", "x")
                        #expect(table[own].first == "own-\(t)" && table[own].second == "\(n)")
                    }
                    return ids
                }
            }
            var all: [[Int: UInt32]] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(table.count == 30_000 + 4 * 30_000)
        for r in results.dropFirst() {
            let differing = r.filter { results[0][$0.key] != $0.value }.count
            #expect(differing == 0, "triples numbered differently by two threads")
        }
        #expect(Set(results[0].values).count == 30_000)
        for (i, id) in results[0] {
            let l = table[id]
            #expect(l.first == shared[i].0 && l.second == shared[i].1 && l.third == shared[i].2)
            #expect(table.id(shared[i].0, shared[i].1, shared[i].2) == id)
        }
    }

    /// Two threads released at once number the same 64 new triples in the same order, 300 times on fresh tables: they
    /// miss together and meet at the lock, and the second must take the number the first gave.
    @Test func twoThreadsMissingTogetherTakeOneNumber() {
        final class Start: Sendable {
            let ready = Atomic<Int>(0)
            let ids = Mutex<[[UInt32]]>([])
        }
        for round in 0..<300 {
            let table = SeriesLabels()
            let triples = (0..<64).map { ("svc", "/route/\(round)/\($0)", "GET") }
            let start = Start()
            let done = DispatchGroup()
            for _ in 0..<2 {
                done.enter()
                Thread {
                    start.ready.add(1, ordering: .relaxed)
                    let deadline = ContinuousClock.now + .seconds(2)
                    while start.ready.load(ordering: .relaxed) < 2, ContinuousClock.now < deadline {}
                    let ids = triples.map { table.id($0.0, $0.1, $0.2) }
                    start.ids.withLock { $0.append(ids) }
                    done.leave()
                }.start()
            }
            done.wait()
            let ids = start.ids.withLock { $0 }
            #expect(ids.count == 2 && ids[0] == ids[1], "round \(round): two numbers for one triple")
            #expect(table.count == 64, "round \(round)")
            if table.count != 64 { return }
        }
    }
}

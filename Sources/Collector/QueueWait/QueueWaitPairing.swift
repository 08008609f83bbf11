/// Queue wait from job facts (SPEC §3): a start's wait is its time minus the latest enqueue of the same job at or
/// before it (a retry is enqueued again), and the sample belongs to the start's time.
///
/// The samples are a function of a job's set of facts, not of the order the facts arrived in. A store keeps the
/// facts; when new ones arrive it adds the samples the larger set has and the smaller had not, and retracts those
/// it no longer has — an enqueue that arrives after its start's retry was paired with the first enqueue moves that
/// start's wait. Summed over time, what a store added minus what it retracted is exactly the samples of all its
/// facts, whichever batches, flushes and collectors brought them. Adding facts already there changes nothing, so a
/// replay never pairs twice.
public enum QueueWaitPairing {
    /// One wait sample: its series, the start's time and the wait.
    public struct Sample: Hashable, Sendable {
        public var key: JobKey
        public var timestampMs: Int64
        public var waitMs: Int64
    }

    /// What adding facts to a store changes.
    public struct Changes: Sendable, Equatable {
        /// Samples to add.
        public var added: [Sample] = []
        /// Samples added before that no longer hold.
        public var retracted: [Sample] = []
        /// The facts the store did not have yet, to keep.
        public var newFacts: [JobFact] = []
        /// No changes.
        public init() {}
        /// Whether nothing changes.
        public var isEmpty: Bool { added.isEmpty && retracted.isEmpty && newFacts.isEmpty }
    }

    /// The samples of one job's facts (all of the same identity).
    public static func samples(of facts: some Sequence<JobFact>) -> [Sample] {
        var enqueues: [Int64] = []
        var starts: [JobFact] = []
        for f in facts {
            if f.kind == .enqueued { enqueues.append(f.timestampMs) } else { starts.append(f) }
        }
        guard !enqueues.isEmpty, !starts.isEmpty else { return [] }
        enqueues.sort()
        var out: [Sample] = []
        out.reserveCapacity(starts.count)
        for s in starts {
            // The last enqueue at or before the start.
            var lo = 0
            var hi = enqueues.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if enqueues[mid] <= s.timestampMs { lo = mid + 1 } else { hi = mid }
            }
            guard lo > 0 else { continue }
            out.append(
                Sample(
                    key: JobKey(service: s.service, queue: s.queue, job: s.job), timestampMs: s.timestampMs,
                    waitMs: s.timestampMs - enqueues[lo - 1]))
        }
        return out
    }

    /// The changes when `adding` joins `existing`, the facts a store already holds of the same job.
    public static func changes(existing: [JobFact], adding: some Sequence<JobFact>) -> Changes {
        let known = Set(existing)
        var changes = Changes()
        var seen = Set<JobFact>()
        for f in adding where !known.contains(f) && seen.insert(f).inserted { changes.newFacts.append(f) }
        guard !changes.newFacts.isEmpty else { return changes }
        let before = samples(of: existing)
        let after = samples(of: existing + changes.newFacts)
        // Multisets: two starts of one series at one time are one fact, so each sample occurs at most once.
        let beforeSet = Set(before)
        let afterSet = Set(after)
        changes.added = after.filter { !beforeSet.contains($0) }
        changes.retracted = before.filter { !afterSet.contains($0) }
        return changes
    }

    /// The changes of `facts` (of any jobs) given what the store holds of each job, read by `existing`.
    public static func changes(
        of facts: some Sequence<JobFact>, existing: (JobIdentity) throws -> [JobFact]
    ) rethrows -> Changes {
        var byJob: [JobIdentity: [JobFact]] = [:]
        for f in facts { byJob[f.identity, default: []].append(f) }
        var total = Changes()
        for (id, list) in byJob {
            let c = changes(existing: try existing(id), adding: list)
            total.added += c.added
            total.retracted += c.retracted
            total.newFacts += c.newFacts
        }
        return total
    }
}

extension Delta {
    /// Adds the wait samples of `changes` to the job cells, in buckets of `widthMs` by the start's time.
    public mutating func addWaits(_ changes: QueueWaitPairing.Changes, widthMs: Int64) {
        for s in changes.added {
            jobs[Bucketed(s.key, bucket: TimeBucket.index(ofMs: s.timestampMs, widthMs: widthMs)), default: JobStats()]
                .wait.add(Double(s.waitMs))
        }
        for s in changes.retracted {
            jobs[Bucketed(s.key, bucket: TimeBucket.index(ofMs: s.timestampMs, widthMs: widthMs)), default: JobStats()]
                .waitRetracted.add(Double(s.waitMs))
        }
    }
}

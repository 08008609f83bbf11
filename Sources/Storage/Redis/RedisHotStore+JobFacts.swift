import Collector

extension RedisHotStore {
    /// Adds `HSET`s of `facts` to their jobs' hashes and renews the hashes' expiry.
    ///
    /// A hash field is `e<time>` for an enqueue and `s<time>␟queue␟job` for a start; its value is unused, so writing a
    /// fact again changes nothing.
    func addFacts(_ facts: some Collection<JobFact>, to w: inout Writes) {
        guard !facts.isEmpty else { return }
        var byKey: [String: [String]] = [:]
        for f in facts { byKey[jobKey(f.identity), default: []].append(Self.field(of: f)) }
        for (key, fields) in byKey {
            var args: [RESPArg] = [.string("HSET"), .string(key)]
            args.reserveCapacity(2 + 2 * fields.count)
            for field in fields {
                args.append(.string(field))
                args.append(.string("1"))
            }
            w.cmds.append(args)
            w.cmds.append("EXPIRE", .string(key), .int(configuration.jobFactRetentionSeconds))
        }
    }

    /// The hash field of a fact.
    static func field(of f: JobFact) -> String {
        switch f.kind {
        case .enqueued: "e\(f.timestampMs)"
        case .started: "s\(f.timestampMs)\(sep)\(f.queue)\(sep)\(f.job)"
        }
    }

    /// The facts of job `id` in an `HGETALL` reply of its hash; fields that are not a fact are skipped.
    static func jobFacts(of id: JobIdentity, hash items: [RedisReply]) -> [JobFact] {
        var out: [JobFact] = []
        var i = 0
        while i + 1 < items.count {
            defer { i += 2 }
            guard let field = items[i].string, let kind = field.first else { continue }
            let rest = field.dropFirst()
            if kind == "e", let ts = Int64(rest) {
                out.append(.enqueued(service: id.service, jobID: id.jobID, timestampMs: ts))
            } else if kind == "s" {
                let parts = rest.split(separator: Character(sep), maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3, let ts = Int64(parts[0]) else { continue }
                out.append(
                    .started(
                        service: id.service, jobID: id.jobID, timestampMs: ts, queue: String(parts[1]),
                        job: String(parts[2])))
            }
        }
        return out
    }
}

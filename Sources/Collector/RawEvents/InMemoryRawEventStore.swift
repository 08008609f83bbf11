import Synchronization

/// Raw events in memory, for unit tests and quick trials.
public final class InMemoryRawEventStore: RawEventStore {
    private let rows = Mutex<[StoredRawEvent]>([])

    /// An empty store.
    public init() {}

    public func insert(_ events: [RawEvent]) async throws {
        rows.withLock { rows in
            for e in events { rows.append(StoredRawEvent(id: Int64(rows.count + 1), event: e)) }
        }
    }

    public func query(_ q: RawEventQuery) async throws -> [StoredRawEvent] {
        rows.withLock { rows in
            rows.filter { r in
                let e = r.event
                return e.timestampMs >= q.fromMs && e.timestampMs < q.toMs
                    && (q.service.map { $0 == e.service } ?? true) && (q.kind.map { $0 == e.kind } ?? true)
                    && (q.level.map { $0 == e.level } ?? true) && (q.route.map { $0 == e.route } ?? true)
                    && (q.statusClass.map { c in e.status.map { $0 / 100 == c } ?? false } ?? true)
                    && (!q.errorsOnly || e.isError)
                    && (q.after.map { (e.timestampMs, r.id) < ($0.timestampMs, $0.id) } ?? true)
            }
            .sorted { ($0.event.timestampMs, $0.id) > ($1.event.timestampMs, $1.id) }
            .prefix(q.limit).map { $0 }
        }
    }

    public func dropOlder(than cutoffMs: Int64) async throws -> Int {
        let day: Int64 = 86_400_000
        return rows.withLock { rows in
            let before = rows.count
            rows.removeAll { ($0.event.timestampMs / day + 1) * day <= cutoffMs }
            return before == rows.count ? 0 : 1
        }
    }
}

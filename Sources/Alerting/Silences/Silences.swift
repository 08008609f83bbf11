import Foundation
import PromQL

/// The set of silences, as Alertmanager's silence store: add/update, expire, query, and match.
/// A value type; keep it behind whatever lock or actor owns it, and persist it as JSON.
public struct Silences: Hashable, Sendable, Codable {
    /// The silences by id.
    public private(set) var byID: [String: Silence] = [:]

    /// No silences.
    public init() {}

    /// The set holding `silences` as they are (e.g. loaded from storage), keyed by id.
    public init(_ silences: [Silence]) {
        byID = Dictionary(silences.map { ($0.id, $0) }, uniquingKeysWith: { $0.updatedAt >= $1.updatedAt ? $0 : $1 })
    }

    /// Adds `silence` (a new id is made when it has none or an unknown one), or updates the
    /// silence with its id: updating an expired silence, or changing the matchers of an active
    /// one, expires it and creates a new one instead, as Alertmanager does. Returns the id.
    public mutating func add(_ silence: Silence, at now: Int64, makeID: () -> UUID = UUID.init) throws(SilenceError)
        -> String
    {
        if let message = silence.validationError() { throw SilenceError(.invalid, message) }
        if silence.endsAt <= now { throw SilenceError(.invalid, "end time can't be in the past") }
        var silence = silence
        silence.updatedAt = now
        if let existing = byID[silence.id] {
            let state = existing.state(at: now)
            let canUpdate =
                state == .pending
                || (state == .active && existing.matchers == silence.matchers && silence.startsAt == existing.startsAt)
            if canUpdate {
                byID[silence.id] = silence
                return silence.id
            }
            if state != .expired { try expire(id: existing.id, at: now) }
        }
        if byID[silence.id] != nil || silence.id.isEmpty { silence.id = makeID().uuidString.lowercased() }
        if silence.startsAt < now { silence.startsAt = now }
        byID[silence.id] = silence
        return silence.id
    }

    /// Ends the silence `id` now (a pending one gets start = end = now).
    public mutating func expire(id: String, at now: Int64) throws(SilenceError) {
        guard var silence = byID[id] else { throw SilenceError(.notFound, "silence \(id) not found") }
        switch silence.state(at: now) {
        case .expired: throw SilenceError(.alreadyExpired, "silence \(id) already expired")
        case .pending: silence.startsAt = now
        case .active: break
        }
        silence.endsAt = now
        silence.updatedAt = now
        byID[id] = silence
    }

    /// The silences in `state` (any when `nil`) whose matchers match `labels` (any when `nil`),
    /// sorted by start time then id.
    public func query(state: SilenceState? = nil, matching labels: Labels? = nil, at now: Int64) -> [Silence] {
        byID.values.filter { silence in
            (state.map { silence.state(at: now) == $0 } ?? true) && (labels.map { silence.matches($0) } ?? true)
        }
        .sorted { ($0.startsAt, $0.id) < ($1.startsAt, $1.id) }
    }

    /// Whether an active silence mutes an alert with `labels` at `now`.
    public func mutes(_ labels: Labels, at now: Int64) -> Bool {
        byID.values.contains { $0.mutes(labels, at: now) }
    }

    /// Drops silences that expired more than `retention` ms ago (Alertmanager keeps them 120h).
    public mutating func garbageCollect(at now: Int64, retention: Int64 = 120 * 3_600_000) {
        byID = byID.filter { $0.value.endsAt + retention > now }
    }
}

import Foundation
import PromQL
import Testing

@testable import Alerting

@Suite struct SilencesTests {
    static func silence(_ matchers: [SilenceMatcher], startsAt: Int64 = 0, endsAt: Int64 = 1000) -> Silence {
        Silence(matchers: matchers, startsAt: startsAt, endsAt: endsAt, createdBy: "ops", comment: "maintenance")
    }

    @Test(
        arguments: [(Int64(-1), SilenceState.pending), (0, .active), (999, .active), (1000, .expired)]
            as [(Int64, SilenceState)])
    func stateFollowsTime(now: Int64, state: SilenceState) {
        #expect(Self.silence([SilenceMatcher(name: "a", value: "b")]).state(at: now) == state)
    }

    @Test(
        arguments: [
            (SilenceMatcher(name: "service", value: "api"), true),
            (SilenceMatcher(name: "service", value: "api", isEqual: false), false),
            (SilenceMatcher(name: "service", value: "a.*", isRegex: true), true),
            (SilenceMatcher(name: "service", value: "a", isRegex: true), false),
            (SilenceMatcher(name: "service", value: "web|db", isRegex: true, isEqual: false), true),
        ] as [(SilenceMatcher, Bool)])
    func matchesAsAlertmanager(matcher: SilenceMatcher, matches: Bool) {
        #expect(Self.silence([matcher]).matches(["service": "api", "alertname": "A"]) == matches)
    }

    @Test func addQueryAndExpire() throws {
        var silences = Silences()
        var ids = ["11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"].makeIterator()
        let id = try silences.add(Self.silence([SilenceMatcher(name: "service", value: "api")]), at: 10) {
            UUID(uuidString: ids.next()!)!
        }
        #expect(id == "11111111-1111-1111-1111-111111111111")
        #expect(silences.mutes(["service": "api"], at: 10))
        #expect(!silences.mutes(["service": "web"], at: 10))
        #expect(silences.query(state: .active, at: 10).map(\.id) == [id])
        #expect(silences.query(matching: ["service": "web"], at: 10).isEmpty)
        try silences.expire(id: id, at: 20)
        #expect(silences.query(state: .expired, at: 20).map(\.endsAt) == [20])
        #expect(!silences.mutes(["service": "api"], at: 20))
        #expect(throws: SilenceError.self) { try silences.expire(id: id, at: 30) }
        #expect(throws: SilenceError.self) { try silences.expire(id: "nope", at: 30) }
        silences.garbageCollect(at: 20 + 120 * 3_600_000)
        #expect(silences.byID.isEmpty)
    }

    @Test(
        arguments: [
            ([], "at least one matcher required"),
            (
                [SilenceMatcher(name: "a", value: ".*", isRegex: true)],
                "at least one matcher must not match the empty string"
            ),
            (
                [SilenceMatcher(name: "a", value: "(", isRegex: true)],
                #"invalid label matcher 0: invalid regular expression "(""#
            ),
        ] as [([SilenceMatcher], String)])
    func rejectsInvalidSilences(matchers: [SilenceMatcher], message: String) {
        var silences = Silences()
        #expect(throws: SilenceError(.invalid, message)) { try silences.add(Self.silence(matchers), at: 0) }
    }

    @Test func decodesAPIv2MatchersWithDefaultIsEqual() throws {
        let json = #"{"name":"a","value":"b","isRegex":false}"#
        let matcher = try JSONDecoder().decode(SilenceMatcher.self, from: Data(json.utf8))
        #expect(matcher == SilenceMatcher(name: "a", value: "b", isRegex: false, isEqual: true))
    }
}

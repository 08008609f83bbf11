import Alerting
import Collector
import Foundation
import HTTPLayer
import Hummingbird

extension AlertingController {
    /// A silence as Alertmanager's API v2 writes it.
    static func silenceJSON(_ s: Silence, now: Int64) -> JSON {
        .object([
            "id": .string(s.id), "status": .object(["state": .string(s.state(at: now).rawValue)]),
            "updatedAt": .string(GoTime.rfc3339(milliseconds: s.updatedAt)),
            "matchers": .array(
                s.matchers.map {
                    .object([
                        "name": .string($0.name), "value": .string($0.value), "isRegex": .bool($0.isRegex),
                        "isEqual": .bool($0.isEqual),
                    ])
                }),
            "startsAt": .string(GoTime.rfc3339(milliseconds: s.startsAt)),
            "endsAt": .string(GoTime.rfc3339(milliseconds: s.endsAt)), "createdBy": .string(s.createdBy),
            "comment": .string(s.comment),
        ])
    }

    /// Largest silence body read.
    static var maxSilenceBytes: Int { 1 << 20 }

    /// The body of `POST /api/v1/silences` (Alertmanager's `PostableSilence`).
    struct PostableSilence: Decodable {
        var id: String?
        var matchers: [SilenceMatcher]
        var startsAt: String
        var endsAt: String
        var createdBy: String
        var comment: String
    }

    func listSilences(_ request: Request) async throws -> Response {
        let t = now()
        let silences = try await AlertingEngine.loadSilences(store: store, now: t)
        return try JSONResponse.ok(.array(silences.query(at: t).map { Self.silenceJSON($0, now: t) }))
    }

    func silence(_ request: Request, id: String) async throws -> Response {
        let t = now()
        guard let s = try await AlertingEngine.loadSilences(store: store, now: t).byID[id] else {
            throw APIError(.notFound, code: "not_found", message: "silence \(id) not found")
        }
        return try JSONResponse.ok(Self.silenceJSON(s, now: t))
    }

    func createSilence(_ request: Request) async throws -> Response {
        var body = try await RequestParameters.body(
            of: request, upTo: Self.maxSilenceBytes, what: "the silence", shorten: "its comment or matchers")
        let posted: PostableSilence
        do { posted = try JSONDecoder().decode(PostableSilence.self, from: Data(buffer: body)) } catch {
            throw APIError.badRequest(
                "the body is not a silence {matchers:[{name,value,isRegex,isEqual}], startsAt, endsAt, createdBy, "
                    + "comment}: \(DecodingErrorText.describe(error))")
        }
        body.clear()
        func time(_ text: String, _ name: String) throws(APIError) -> Int64 {
            guard let ms = RequestParameters.parseTime(text) else {
                throw APIError.badRequest(
                    "\(name) '\(RequestParameters.shown(text))' is not an RFC 3339 time from 1970 to 2100, such as "
                        + "2026-12-05T12:00:00Z", parameter: name)
            }
            return ms
        }
        let startsAt = try time(posted.startsAt, "startsAt")
        let endsAt = try time(posted.endsAt, "endsAt")
        let t = now()
        var silences = try await AlertingEngine.loadSilences(store: store, now: t)
        if let id = posted.id, !id.isEmpty, silences.byID[id] == nil {
            throw APIError(
                .notFound, code: "not_found",
                message: "silence \(RequestParameters.shown(id)) not found (leave id out to create one)")
        }
        let id: String
        do throws(SilenceError) {
            id = try silences.add(
                Silence(
                    id: posted.id ?? "", matchers: posted.matchers, startsAt: startsAt, endsAt: endsAt,
                    createdBy: posted.createdBy, comment: posted.comment, updatedAt: t),
                at: t)
        } catch {
            throw APIError.badRequest(error.message)
        }
        try await save(silences, changedAt: t)
        return try JSONResponse.ok(.object(["silenceID": .string(id)]))
    }

    func expireSilence(_ request: Request, id: String) async throws -> Response {
        let t = now()
        var silences = try await AlertingEngine.loadSilences(store: store, now: t)
        do throws(SilenceError) { try silences.expire(id: id, at: t) } catch {
            if error.code == .notFound { throw APIError(.notFound, code: "not_found", message: error.message) }
            throw APIError.badRequest(error.message)
        }
        try await save(silences, changedAt: t)
        return try JSONResponse.ok(.object(["status": .string("success")]))
    }

    /// Writes the silences `add`/`expire` changed (those updated at `t`).
    private func save(_ silences: Silences, changedAt t: Int64) async throws {
        let encoder = JSONEncoder()
        for s in silences.byID.values where s.updatedAt == t {
            guard let uuid = UUID(uuidString: s.id) else { continue }
            try await store.saveSilence(id: uuid, encoded: Array(try encoder.encode(s)), endsAtMs: s.endsAt, nowMs: t)
        }
    }
}

import Alerting
import Collector
import Foundation
import HTTPLayer
import Hummingbird
import OpsightMetrics
import PromQL

/// The alerting endpoints: Prometheus's `/api/v1/rules` and `/api/v1/alerts`, silences with Alertmanager's
/// fields, the notification log, the alert history and rule reload.
public struct AlertingController<Context: RequestContext>: Sendable {
    let engine: AlertingEngine
    let store: any AlertStore
    let reload: @Sendable () async throws -> String
    let clock: WallClock

    /// Creates the controller; `reload` re-reads the rule files and routing (all or nothing), returning a summary
    /// or throwing the errors with file:line.
    public init(
        engine: AlertingEngine, store: any AlertStore, reload: @escaping @Sendable () async throws -> String,
        clock: WallClock = .system
    ) {
        self.engine = engine
        self.store = store
        self.reload = reload
        self.clock = clock
    }

    func now() -> Int64 { clock.nowMs() }

    /// Adds the routes: listings with the `read` scope, changes with `admin`.
    public func register(on routes: ScopedRoutes<Context>) {
        let read = routes.group("/api/v1", scope: .read)
        read.get("rules") { request, _ in try await self.rules(request) }
        read.get("alerts") { request, _ in try await self.alerts(request) }
        read.get("notifications") { request, _ in try await self.notifications(request) }
        read.get("alerts/history") { request, _ in try await self.history(request) }
        read.get("silences") { request, _ in try await self.listSilences(request) }
        read.get("silences/:id") { request, context in
            try await self.silence(request, id: context.parameters.require("id"))
        }
        let admin = routes.group("/api/v1", scope: .admin)
        admin.post("rules/reload") { request, _ in try await self.reloadRules(request) }
        admin.post("silences") { request, _ in try await self.createSilence(request) }
        admin.delete("silences/:id") { request, context in
            try await self.expireSilence(request, id: context.parameters.require("id"))
        }
    }

    // MARK: Prometheus shapes

    private func rules(_ request: Request) async throws -> Response {
        let type = try await RequestParameters(request).oneOf("type", ["alert", "record"])
        var groups: [JSON] = []
        for evaluator in await engine.groups {
            var rules: [JSON] = []
            for (index, rule) in evaluator.group.rules.enumerated() {
                let health: JSON =
                    evaluator.lastEvaluation == nil ? .string("unknown") : .string(evaluator.lastErrors[index] == nil ? "ok" : "err")
                var o: [String: JSON] = ["health": health, "lastError": .string(evaluator.lastErrors[index] ?? "")]
                if let t = evaluator.lastEvaluation { o["lastEvaluation"] = .string(GoTime.rfc3339(milliseconds: t)) }
                switch rule {
                case .alerting(let r):
                    guard type == nil || type == "alert" else { continue }
                    let active = (evaluator.alertingRules[index]?.alerts ?? []).filter { $0.state != .inactive }
                    let state = active.contains { $0.state == .firing } ? "firing" : active.isEmpty ? "inactive" : "pending"
                    o["type"] = .string("alerting")
                    o["name"] = .string(r.name)
                    o["query"] = .string(r.query)
                    o["duration"] = .number(Double(r.holdDuration.milliseconds) / 1000)
                    o["keepFiringFor"] = .number(Double(r.keepFiringFor.milliseconds) / 1000)
                    o["labels"] = .object(Dictionary(uniqueKeysWithValues: r.labels.map { ($0.name, JSON.string($0.template.source)) }))
                    o["annotations"] = .object(
                        Dictionary(uniqueKeysWithValues: r.annotations.map { ($0.name, JSON.string($0.template.source)) }))
                    o["state"] = .string(state)
                    o["alerts"] = .array(active.map(Self.alertJSON))
                case .recording(let r):
                    guard type == nil || type == "record" else { continue }
                    o["type"] = .string("recording")
                    o["name"] = .string(r.name)
                    o["query"] = .string(r.expression.description)
                    o["labels"] = .object(r.labels.mapValues(JSON.string))
                }
                rules.append(.object(o))
            }
            var g: [String: JSON] = [
                "name": .string(evaluator.group.name), "file": .string(evaluator.group.file),
                "interval": .number(Double(evaluator.interval) / 1000), "limit": .number(Double(evaluator.group.limit)),
                "rules": .array(rules),
            ]
            if let t = evaluator.lastEvaluation { g["lastEvaluation"] = .string(GoTime.rfc3339(milliseconds: t)) }
            groups.append(.object(g))
        }
        return try JSONResponse.ok(.object(["status": .string("success"), "data": .object(["groups": .array(groups)])]))
    }

    private func alerts(_ request: Request) async throws -> Response {
        var list: [JSON] = []
        for evaluator in await engine.groups {
            for rule in evaluator.alertingRules.keys.sorted() {
                for alert in evaluator.alertingRules[rule]?.alerts ?? [] where alert.state != .inactive {
                    list.append(Self.alertJSON(alert))
                }
            }
        }
        return try JSONResponse.ok(.object(["status": .string("success"), "data": .object(["alerts": .array(list)])]))
    }

    static func alertJSON(_ a: ActiveAlert) -> JSON {
        .object([
            "labels": .object(a.labels.dictionary.mapValues(JSON.string)),
            "annotations": .object(a.annotations.mapValues(JSON.string)),
            "state": .string(a.state.rawValue), "activeAt": .string(GoTime.rfc3339(milliseconds: a.activeAt)),
            "value": .string(FloatFormat.prometheus(a.value)),
        ])
    }

    private func reloadRules(_ request: Request) async throws -> Response {
        do {
            let summary = try await reload()
            return try JSONResponse.ok(.object(["status": .string("success"), "message": .string(summary)]))
        } catch {
            throw APIError(
                .unprocessableContent, code: "invalid_rules",
                message: "the rule files or routing are invalid; the previous set stays in force:\n\(error)")
        }
    }

    // MARK: logs

    private func limit(_ request: Request) async throws -> Int {
        try await RequestParameters(request).integer("limit", default: 100, in: 1...10_000)
    }

    private func notifications(_ request: Request) async throws -> Response {
        let records = try await store.notifications(limit: try await limit(request))
        let list: [JSON] = records.map { r in
            var o: [String: JSON] = [
                "id": .string(r.message.id.uuidString.lowercased()), "receiver": .string(r.message.receiver),
                "integration": .string(r.message.integration), "group_key": .string(r.message.groupKey),
                "status": .string(r.message.status), "alerts": .number(Double(r.message.alerts)),
                "state": .string(r.state.rawValue), "attempts": .number(Double(r.attempts)),
                "created_at": .string(GoTime.rfc3339(milliseconds: r.createdAtMs)),
            ]
            if r.state == .pending { o["next_attempt_at"] = .string(GoTime.rfc3339(milliseconds: r.nextAttemptAtMs)) }
            if let t = r.deliveredAtMs { o["delivered_at"] = .string(GoTime.rfc3339(milliseconds: t)) }
            if let s = r.lastStatus { o["last_status"] = .number(Double(s)) }
            if let e = r.lastError { o["last_error"] = .string(e) }
            return .object(o)
        }
        return try JSONResponse.ok(.object(["notifications": .array(list)]))
    }

    private func history(_ request: Request) async throws -> Response {
        let list: [JSON] = try await store.history(limit: try await limit(request)).map { h in
            .object([
                "at": .string(GoTime.rfc3339(milliseconds: h.atMs)), "alertname": .string(h.alertname),
                "labels": .object(h.labels.mapValues(JSON.string)), "state": .string(h.state),
                "value": h.value.map(JSON.number) ?? .null,
            ])
        }
        return try JSONResponse.ok(.object(["history": .array(list)]))
    }
}

import Collector
import Foundation
import Hummingbird
import PromQL

/// `GET /api/v1/funnels` (the configured funnels) and `GET /api/v1/funnels/NAME` (one funnel over a window,
/// SPEC §7).
public struct FunnelsController<Context: RequestContext>: Sendable {
    let reader: FunnelReader
    let tokens: AccessTokens
    let now: @Sendable () -> Int64

    /// Creates the controller; `now` gives unix milliseconds.
    public init(
        reader: FunnelReader, tokens: AccessTokens,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.reader = reader
        self.tokens = tokens
        self.now = now
    }

    /// Adds the routes to `router`.
    public func register(on router: Router<Context>) {
        router.get("/api/v1/funnels") { request, _ in
            try tokens.authorize(request, scope: "read")
            let list: [JSON] = reader.funnels.map { f in
                .object([
                    "name": .string(f.name), "key": .string(f.key),
                    "conversion_window": .string(PromDuration.format(f.windowMs)),
                    "steps": .array(f.steps.enumerated().map { i, s in
                        .object(["index": .number(Double(i + 1)), "name": .string(s.name)])
                    }),
                ])
            }
            return try JSONResponse.ok(.object(["funnels": .array(list)]))
        }
        router.get("/api/v1/funnels/:name") { request, context in
            try await self.funnel(request, name: context.parameters.require("name"))
        }
    }

    private func funnel(_ request: Request, name: String) async throws -> Response {
        try tokens.authorize(request, scope: "read")
        guard let funnel = reader.funnel(named: name) else {
            let known = reader.funnels.map(\.name).joined(separator: ", ")
            throw APIError(
                .notFound, code: "not_found",
                message: "no funnel '\(name)' is configured" + (known.isEmpty ? " (none are)" : " (configured: \(known))"),
                details: ["parameter": "name"])
        }
        let p = QueryParameters(request: request)
        let window = try p.window(default: "1h")
        let qs = try p.quantiles(default: "0.5,0.95")
        let f: FunnelReader.Figures
        do {
            guard let first = try await reader.figures(funnel, windowsMs: [window.ms], timeMs: try p.time(), nowMs: now()).first
            else { throw APIError.badRequest("no window", parameter: "window") }
            f = first
        } catch let error as CollectorError where error.code == .invalid {
            throw APIError.badRequest(error.message, parameter: "window")
        } catch let error as CollectorError {
            throw APIError.storeUnavailable(error.message)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.storeUnavailable("\(error)")
        }
        let steps: [JSON] = funnel.steps.indices.map { i in
            .object([
                "index": .number(Double(i + 1)), "name": .string(funnel.steps[i].name),
                "reached": .number(Double(f.result.reached[i])),
                "conversion": f.conversion(i).map(JSON.number) ?? .null,
                "step_conversion": f.stepConversion(i).map(JSON.number) ?? .null,
            ])
        }
        var ttc: [String: JSON] = [:]
        for (key, q) in qs { ttc[key] = f.timeToConvert(q).map(JSON.number) ?? .null }
        return try JSONResponse.ok(
            .object([
                "funnel": .string(name), "window": .string(window.text), "time": .number(Double(f.timeMs) / 1000),
                "entered": .number(Double(f.result.entered)), "converted": .number(Double(f.result.timesToConvertMs.count)),
                "steps": .array(steps), "time_to_convert": .object(ttc),
            ]))
    }
}

import Collector
import Foundation
import HTTPLayer
import Hummingbird
import OpsightMetrics
import PromQL
import QueryModel

/// `GET /api/v1/funnels` (the configured funnels) and `GET /api/v1/funnels/NAME` (one funnel over a window,
/// SPEC §7).
public struct FunnelsController<Context: RequestContext>: Sendable {
    let reader: FunnelReader
    let clock: WallClock

    /// Creates the controller.
    public init(reader: FunnelReader, clock: WallClock = .system) {
        self.reader = reader
        self.clock = clock
    }

    /// Adds the routes, with the `read` scope.
    public func register(on routes: ScopedRoutes<Context>) {
        let api = routes.group("/api/v1/funnels", scope: .read)
        api.get { _, _ in
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
        api.get(":name") { request, context in
            try await self.funnel(request, name: context.parameters.require("name"))
        }
    }

    private func funnel(_ request: Request, name: String) async throws -> Response {
        guard let funnel = reader.funnel(named: name) else {
            let known = reader.funnels.map(\.name).joined(separator: ", ")
            throw APIError(
                .notFound, code: "not_found",
                message: "no funnel '\(name)' is configured" + (known.isEmpty ? " (none are)" : " (configured: \(known))"),
                details: ["parameter": "name"])
        }
        let p = try await RequestParameters(request)
        let window = try p.window(default: "1h")
        let qs = try p.quantiles(default: "0.5,0.95")
        let time: EvaluationTime = try p.time("time").map { .at($0) } ?? .now(clock.nowMs())
        guard let f = try await reader.figures(funnel, windowsMs: [window.ms], at: time).first else {
            throw APIError.badRequest("no window", parameter: "window")
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

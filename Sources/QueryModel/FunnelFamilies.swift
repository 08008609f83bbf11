import Collector
import PromQL

/// The `opsight_funnel_*` families of SPEC §6 from funnel figures.
struct FunnelFamilies {
    let figures: [FunnelReader.Figures]
    let quantiles: [Double]
    /// The one family to write (nil: all).
    var only: String? = nil

    static let names: Set<String> = [
        "opsight_funnel_entered", "opsight_funnel_step_reached", "opsight_funnel_conversion_ratio",
        "opsight_funnel_time_to_convert_seconds",
    ]
    /// Time to convert is given as median and p95 (SPEC §5).
    static let defaultQuantiles: [Double] = [0.5, 0.95]

    func write(to p: inout some SampleSink) {
        let sorted = figures.sorted { ($0.funnel.name, $0.windowMs) < ($1.funnel.name, $1.windowMs) }
        func base(_ f: FunnelReader.Figures) -> [(String, String)] {
            [("funnel", f.funnel.name), ("window", PromDuration.format(f.windowMs))]
        }
        func step(_ f: FunnelReader.Figures, _ i: Int) -> [(String, String)] {
            [("funnel", f.funnel.name), ("step", f.funnel.steps[i].name), ("index", String(i + 1)),
             ("window", PromDuration.format(f.windowMs))]
        }
        if wants("opsight_funnel_entered") {
            p.family("opsight_funnel_entered", type: "gauge", help: "Entities with an attempt starting in the window.")
            for f in sorted { p.sample("opsight_funnel_entered", labels: base(f), Double(f.result.entered)) }
        }
        if wants("opsight_funnel_step_reached") {
            p.family("opsight_funnel_step_reached", type: "gauge", help: "Entities whose best attempt reached the step.")
            for f in sorted {
                for i in f.funnel.steps.indices {
                    p.sample("opsight_funnel_step_reached", labels: step(f, i), Double(f.result.reached[i]))
                }
            }
        }
        if wants("opsight_funnel_conversion_ratio") {
            p.family(
                "opsight_funnel_conversion_ratio", type: "gauge", help: "Entities that reached the step / entered.")
            for f in sorted {
                for i in f.funnel.steps.indices {
                    p.sample("opsight_funnel_conversion_ratio", labels: step(f, i), f.conversion(i) ?? .nan)
                }
            }
        }
        if wants("opsight_funnel_time_to_convert_seconds") {
            p.family(
                "opsight_funnel_time_to_convert_seconds", type: "summary",
                help: "Time from step 1 to the last step of converting entities.")
            for f in sorted {
                for q in quantiles {
                    guard let v = f.timeToConvert(q) else { continue }
                    p.sample(
                        "opsight_funnel_time_to_convert_seconds",
                        labels: base(f) + [("quantile", PrometheusText.format(q))], v)
                }
            }
        }
    }

    private func wants(_ name: String) -> Bool { only.map { $0 == name } ?? true }
}

extension FunnelReader {
    /// Every configured funnel over `windowsMs` at `time`; `name` narrows to one funnel.
    func allFigures(windowsMs: [Int64], at time: EvaluationTime, name: String? = nil) async throws -> [Figures] {
        var out: [Figures] = []
        for f in funnels where name == nil || f.name == name {
            try Task.checkCancellation()
            out += try await figures(f, windowsMs: windowsMs, at: time)
        }
        return out
    }
}

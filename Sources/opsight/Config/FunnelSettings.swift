import Collector
import OpsightMetrics
import PromQL

/// The `funnels:` list of `opsight.yaml` (SPEC §5), validated at start.
enum FunnelSettings {
    /// Parses the list; names must be unique, steps non-empty, matchers over known fields.
    static func parse(_ list: ConfigNode) throws(ConfigError) -> [FunnelDefinition] {
        var funnels: [FunnelDefinition] = []
        for item in try list.sequence() {
            try item.checkKeys(["name", "key", "window", "steps"])
            guard let nameNode = item.child("name") else { throw item.error("a funnel needs a name") }
            let name = try nameNode.string()
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !name.isEmpty else {
                throw nameNode.error("funnel name '\(name)' must be letters, digits and _ (it becomes a label value)")
            }
            guard !funnels.contains(where: { $0.name == name }) else {
                throw nameNode.error("duplicate funnel name '\(name)'")
            }
            let keyNode = item.child("key")
            let key = try keyNode?.string() ?? "entity"
            if key != "entity" {
                // The key becomes an alias of `entity`, so it must not be a field the schema already reads.
                guard !EventDecoder.fieldNames.contains(key), !key.isEmpty else {
                    throw (keyNode ?? item).error(
                        "funnel key '\(key)' is a schema field; use entity, or a field of your own such as user_id")
                }
            }
            // The key is read as the event's entity, so every funnel must name the same field.
            if let other = funnels.first(where: { $0.key != key }) {
                throw (keyNode ?? item).error(
                    "funnel key '\(key)' differs from '\(other.key)' of funnel '\(other.name)'; all funnels share one key field")
            }
            guard let windowNode = item.child("window") else {
                throw item.error("funnel '\(name)' needs a window (the conversion window, e.g. 1h)")
            }
            let windowMs = try windowNode.duration()
            guard let stepsNode = item.child("steps") else { throw item.error("funnel '\(name)' needs steps") }
            let stepNodes = try stepsNode.sequence()
            guard stepNodes.count >= 2 else {
                throw stepsNode.error("funnel '\(name)' needs at least two steps, has \(stepNodes.count)")
            }
            var steps: [FunnelStep] = []
            for s in stepNodes {
                if let text = s.node.scalar?.string {
                    guard !text.isEmpty else { throw s.error("a step name must not be empty") }
                    steps.append(FunnelStep(name: text, matcher: .event(text)))
                    continue
                }
                guard let mapping = s.node.mapping, !mapping.isEmpty else {
                    throw s.error("a step is an event name or a matcher such as {kind: job, queue: q, event: succeeded}")
                }
                var fields: [String: String] = [:]
                var stepName: String?
                for (k, v) in mapping {
                    if k.string == "name" {
                        guard let text = v.scalar?.string, !text.isEmpty else { throw s.error("step name needs a value") }
                        stepName = text
                        continue
                    }
                    guard let field = k.string, FunnelStep.matchableFields.contains(field) else {
                        throw s.error(
                            "unknown step field '\(k.string ?? "?")' (known: name, "
                                + FunnelStep.matchableFields.sorted().joined(separator: ", ") + ")")
                    }
                    guard let value = v.scalar?.string else { throw s.error("step field '\(field)' needs a value") }
                    fields[field] = value
                }
                guard !fields.isEmpty else { throw s.error("a step matcher needs at least one field besides name") }
                let label =
                    stepName ?? fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                steps.append(FunnelStep(name: label, matcher: .fields(fields)))
            }
            funnels.append(FunnelDefinition(name: name, key: key, windowMs: windowMs, steps: steps))
        }
        return funnels
    }
}

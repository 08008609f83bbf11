import Yams

/// The routing part of the alerting configuration: route tree, inhibit rules and receivers, as
/// Alertmanager's configuration file has them.
public struct DispatchConfig: Hashable, Sendable {
    /// The root of the routing tree.
    public var route: Route
    /// The inhibit rules.
    public var inhibitRules: [InhibitRule]
    /// The receivers, names unique.
    public var receivers: [Receiver]

    /// Creates a configuration (unvalidated; `parse` validates).
    public init(route: Route, inhibitRules: [InhibitRule] = [], receivers: [Receiver]) {
        self.route = route
        self.inhibitRules = inhibitRules
        self.receivers = receivers
    }

    /// The receiver named `name`.
    public func receiver(named name: String) -> Receiver? { receivers.first { $0.name == name } }

    /// Parses and validates the `route`, `inhibit_rules` and `receivers` keys of the `alerting:`
    /// mapping (other keys are left to the caller); throws every error with its file:line.
    public static func parse(alerting node: Node, file: String) throws(ConfigErrors) -> DispatchConfig {
        guard case .mapping(let mapping) = node else {
            throw ConfigErrors([ConfigError(.yaml, file: file, line: node.line, "alerting must be a mapping")])
        }
        return try parse(
            route: mapping["route"], inhibitRules: mapping["inhibit_rules"], receivers: mapping["receivers"],
            file: file,
            line: node.line)
    }

    /// Parses and validates the three subtrees (each may be `nil` when absent; `line` is where to
    /// report a missing `route`).
    public static func parse(
        route: Node?, inhibitRules: Node?, receivers: Node?, file: String, line: Int = 0
    ) throws(ConfigErrors) -> DispatchConfig {
        let sink = DiagnosticSink()
        let scope = YAMLScope(file: file, sink: sink)
        let parsedReceivers = receivers.map { ReceiverParser(scope: scope).parseList($0) } ?? []
        var parsedRoute: Route?
        if let route {
            let declared = receivers.map(ReceiverParser.declaredNames) ?? []
            parsedRoute = RouteParser(scope: scope, receivers: declared).parseRoot(route)
        } else {
            scope.report(.missingField, line: line, "no route provided in config")
        }
        let parsedInhibitRules = inhibitRules.map { InhibitRuleParser(scope: scope).parseList($0) } ?? []
        guard sink.errors.isEmpty, let parsedRoute else { throw ConfigErrors(sink.errors) }
        return DispatchConfig(route: parsedRoute, inhibitRules: parsedInhibitRules, receivers: parsedReceivers)
    }

    /// Parses YAML text whose top level has `route`, `inhibit_rules` and `receivers` (as an
    /// Alertmanager file or the `alerting:` block's content).
    public static func parse(yaml text: String, file: String) throws(ConfigErrors) -> DispatchConfig {
        switch YAMLDocument.compose(text, file: file) {
        case .failure(let error): throw ConfigErrors([error])
        case .success(nil):
            throw ConfigErrors([ConfigError(.missingField, file: file, line: 1, "no route provided in config")])
        case .success(let node?): return try parse(alerting: node, file: file)
        }
    }
}

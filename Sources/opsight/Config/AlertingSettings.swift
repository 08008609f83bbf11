import Alerting
import Foundation
import Yams

/// The `alerting:` block of `opsight.yaml` (SPEC §8, §10): rule files, evaluation and routing.
struct AlertingSettings {
    /// Rule file globs, relative to the configuration file's folder.
    var ruleFiles: [String] = []
    /// Where relative globs start.
    var baseDirectory = "."
    var evaluationIntervalMs: Int64 = 15_000
    var resendDelayMs: Int64 = 60_000
    var externalURL = "http://127.0.0.1:9400"
    var maxRetryDurationMs: Int64 = 3_600_000
    /// Routing; nil when the file has none (alerts still show in the API and the history, nothing is sent).
    var dispatch: DispatchConfig?

    /// Reads the block; `node` is the `alerting:` value in `file`.
    static func parse(_ node: ConfigNode, configFile: String) throws(ConfigError) -> AlertingSettings {
        try node.checkKeys([
            "rule_files", "evaluation_interval", "resend_delay", "external_url", "max_retry_duration", "route",
            "inhibit_rules", "receivers",
        ])
        var settings = AlertingSettings()
        settings.baseDirectory = (configFile as NSString).deletingLastPathComponent
        if settings.baseDirectory.isEmpty { settings.baseDirectory = "." }
        for n in try node.child("rule_files")?.sequence() ?? [] { settings.ruleFiles.append(try n.string()) }
        if let n = node.child("evaluation_interval") { settings.evaluationIntervalMs = try n.duration() }
        if let n = node.child("resend_delay") { settings.resendDelayMs = try n.duration() }
        if let n = node.child("max_retry_duration") { settings.maxRetryDurationMs = try n.duration() }
        if let n = node.child("external_url") {
            let url = try n.string()
            guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https" else {
                throw n.error("external_url '\(url)' must be an http(s) URL, e.g. http://opsight.example.com:9400")
            }
            settings.externalURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        if node.child("route") != nil || node.child("receivers") != nil {
            do { settings.dispatch = try DispatchConfig.parse(alerting: node.node, file: configFile) } catch {
                throw ConfigError(file: configFile, message: "alerting routing is invalid:\n\(error.description)")
            }
        }
        return settings
    }

    /// The rule files the globs name, all loaded or none (errors with file:line).
    func loadRules() throws -> RuleSet {
        let paths = RuleFileGlob.expand(ruleFiles, relativeTo: baseDirectory)
        return try RuleSet.load(paths: paths)
    }

    /// The engine configuration for `rules`.
    func engineConfiguration(rules: RuleSet) -> AlertingEngine.Configuration {
        AlertingEngine.Configuration(
            rules: rules, dispatch: dispatch,
            evaluation: .init(
                evaluationInterval: .init(milliseconds: evaluationIntervalMs),
                resendDelay: .init(milliseconds: resendDelayMs), context: AlertContext(externalURL: externalURL)))
    }
}

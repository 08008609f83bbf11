/// A parsed Go `text/template` (the subset Prometheus rules and Alertmanager receivers use).
///
/// Parse once when loading (errors name the line), then execute for each alert.
public struct Template: Hashable, Sendable {
    /// The text as written.
    public let source: String
    /// The name used in errors, e.g. `__alert_HighErrorRatio`.
    public let name: String
    /// The dialect it was parsed in.
    public let dialect: TemplateDialect
    let nodes: [TemplateNode]

    /// Parses `source`; throws Go's parse errors (unknown function, undefined variable, unclosed
    /// action …).
    public init(_ source: String, name: String, dialect: TemplateDialect = .prometheus) throws(TemplateError) {
        self.source = source
        self.name = name
        self.dialect = dialect
        let items = try TemplateLexer(name: name).items(source)
        var parser = TemplateParser(
            name: name, items: items, functions: dialect.functions, variables: dialect.variables)
        nodes = try parser.parse()
    }

    /// Executes the template over `data`.
    public func execute(_ data: TemplateData) throws(TemplateError) -> String {
        var executor = TemplateExecutor(
            name: name, context: .init(externalURL: data.externalURL),
            variables: data.variables.merging(["$": data.dot]) { $1 })
        var output = ""
        try executor.run(nodes, dot: data.dot, into: &output)
        return output
    }

    /// Executes the template as Prometheus's rule manager does: a failure becomes the text
    /// `<error expanding template: …>` instead of an error.
    public func expand(_ data: TemplateData) -> String {
        do {
            return try execute(data)
        } catch {
            return "<error expanding template: error executing template \(name): \(error)>"
        }
    }
}

/// A node of a parsed template.
indirect enum TemplateNode: Hashable, Sendable {
    /// Literal text.
    case text(String)
    /// `{{ pipeline }}`: prints the pipeline's value unless it declares a variable.
    case action(TemplatePipeline)
    /// `{{ if p }}…{{ else }}…{{ end }}`, or `with` (which also sets dot) when `setsDot`.
    case conditional(TemplatePipeline, then: [TemplateNode], otherwise: [TemplateNode], setsDot: Bool)
    /// `{{ range p }}…{{ else }}…{{ end }}` over a list or map.
    case range(TemplatePipeline, body: [TemplateNode], otherwise: [TemplateNode])
}

/// A pipeline: commands separated by `|`, optionally declaring (`$x :=`) or assigning a variable.
struct TemplatePipeline: Hashable, Sendable {
    /// The variable declared or assigned, if any.
    var variable: String?
    /// The commands; each one's result is the last argument of the next.
    var commands: [TemplateCommand]
    /// The line of the action.
    var line: Int
}

/// One command: a function call or a single operand.
struct TemplateCommand: Hashable, Sendable {
    /// The operands; a leading `.function` names the function.
    var operands: [TemplateOperand]
}

/// An operand of a command.
indirect enum TemplateOperand: Hashable, Sendable {
    /// A function name.
    case function(String)
    /// `.A.B` (empty path: dot itself).
    case field([String])
    /// `$x.A.B`.
    case variable(String, [String])
    /// A constant.
    case literal(TemplateValue)
    /// `( pipeline )`.
    case pipeline(TemplatePipeline)
}

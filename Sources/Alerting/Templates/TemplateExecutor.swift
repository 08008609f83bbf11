/// Runs a parsed template over data, as Go's `text/template` executes (with `missingkey=zero`).
struct TemplateExecutor {
    /// The template's name, for errors.
    let name: String
    /// What functions may need.
    let context: TemplateFunctions.Context
    /// Variables in scope.
    var variables: [String: TemplateValue]

    /// Appends the output of `nodes` to `output`.
    mutating func run(_ nodes: [TemplateNode], dot: TemplateValue, into output: inout String) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .action(let pipeline):
                let value = try evaluate(pipeline, dot: dot)
                if pipeline.variable == nil { output += value.printed }
            case .conditional(let pipeline, let then, let otherwise, let setsDot):
                let value = try evaluate(pipeline, dot: dot)
                if value.isTruthy {
                    try run(then, dot: setsDot ? value : dot, into: &output)
                } else {
                    try run(otherwise, dot: dot, into: &output)
                }
            case .range(let pipeline, let body, let otherwise):
                let value = try evaluate(pipeline, dot: dot)
                let elements: [TemplateValue]
                switch value {
                case .list(let items): elements = items
                case .labels(let map): elements = map.sorted { $0.key < $1.key }.map { .string($0.value) }
                case .object(let map): elements = map.sorted { $0.key < $1.key }.map(\.value)
                case .int(let count): elements = (0..<max(count, 0)).map { .int($0) }
                case .null: elements = []
                default:
                    throw failure(line: pipeline.line, "range can't iterate over \(value.printed)")
                }
                if elements.isEmpty { try run(otherwise, dot: dot, into: &output) }
                for element in elements {
                    if let variable = pipeline.variable { variables[variable] = element }
                    try run(body, dot: element, into: &output)
                }
            }
        }
    }

    /// The value of a pipeline; declares or assigns its variable.
    mutating func evaluate(_ pipeline: TemplatePipeline, dot: TemplateValue) throws(TemplateError) -> TemplateValue {
        var value: TemplateValue?
        for command in pipeline.commands {
            value = try evaluate(command, dot: dot, piped: value, line: pipeline.line)
        }
        let result = value ?? .null
        if let variable = pipeline.variable { variables[variable] = result }
        return result
    }

    private mutating func evaluate(
        _ command: TemplateCommand, dot: TemplateValue, piped: TemplateValue?, line: Int
    ) throws(TemplateError) -> TemplateValue {
        guard case .function(let function) = command.operands.first else {
            guard command.operands.count == 1, piped == nil else {
                throw failure(line: line, "can't give argument to non-function \(describe(command.operands[0]))")
            }
            return try operand(command.operands[0], dot: dot, line: line)
        }
        var arguments: [TemplateValue] = []
        for argument in command.operands.dropFirst() { arguments.append(try operand(argument, dot: dot, line: line)) }
        if let piped { arguments.append(piped) }
        do {
            return try TemplateFunctions.call(function, arguments, context: context)
        } catch {
            throw failure(line: line, "error calling \(function): \(error.message)")
        }
    }

    private mutating func operand(_ operand: TemplateOperand, dot: TemplateValue, line: Int) throws(TemplateError)
        -> TemplateValue
    {
        switch operand {
        case .function(let function):
            do {
                return try TemplateFunctions.call(function, [], context: context)
            } catch {
                throw failure(line: line, "error calling \(function): \(error.message)")
            }
        case .literal(let value):
            return value
        case .field(let path):
            return try walk(dot, path, line: line)
        case .variable(let name, let path):
            return try walk(variables[name] ?? .null, path, line: line)
        case .pipeline(let pipeline):
            return try evaluate(pipeline, dot: dot)
        }
    }

    /// Follows `.A.B` from `value`.
    private func walk(_ value: TemplateValue, _ path: [String], line: Int) throws(TemplateError) -> TemplateValue {
        var current = value
        for field in path {
            switch current {
            case .labels(let map): current = .string(map[field] ?? "")
            case .object(let map): current = map[field] ?? .null
            case .null: throw failure(line: line, "nil pointer evaluating interface {}.\(field)")
            default: throw failure(line: line, "can't evaluate field \(field) in type \(current.typeName)")
            }
        }
        return current
    }

    private func describe(_ operand: TemplateOperand) -> String {
        switch operand {
        case .function(let name): name
        case .field(let path): "." + path.joined(separator: ".")
        case .variable(let name, let path): ([name] + path).joined(separator: ".")
        case .literal(let value): value.printed
        case .pipeline: "(pipeline)"
        }
    }

    private func failure(line: Int, _ message: String) -> TemplateError {
        TemplateError(name: name, line: line, message: message, isExecution: true)
    }
}

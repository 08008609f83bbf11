/// Builds the node tree of a template from the lexer's items, checking function names and
/// variables as Go's parser does.
struct TemplateParser {
    /// The template's name, for errors.
    let name: String
    /// The functions that may be called.
    let functions: Set<String>
    private var items: [TemplateLexer.Item]
    private var index = 0
    private var variables: Set<String>

    /// A parser over `items` where `variables` are predefined.
    init(name: String, items: [TemplateLexer.Item], functions: Set<String>, variables: Set<String>) {
        self.name = name
        self.items = items
        self.functions = functions
        self.variables = variables.union(["$"])
    }

    /// The whole template.
    mutating func parse() throws(TemplateError) -> [TemplateNode] {
        let (nodes, terminator) = try list()
        if let (keyword, line) = terminator {
            throw TemplateError(name: name, line: line, message: "unexpected {{\(keyword)}}")
        }
        return nodes
    }

    /// Nodes up to `{{end}}`/`{{else …}}` (returned as the terminator) or the end of the text.
    private mutating func list() throws(TemplateError) -> ([TemplateNode], (String, Int)?) {
        var nodes: [TemplateNode] = []
        while index < items.count {
            let item = items[index]
            index += 1
            switch item {
            case .text(let text):
                nodes.append(.text(text))
            case .action(let tokens, let line):
                if case .identifier(let keyword) = tokens.first {
                    switch keyword {
                    case "end":
                        guard tokens.count == 1 else { throw unexpected(tokens[1], line: line, in: "end") }
                        return (nodes, ("end", line))
                    case "else":
                        items[index - 1] = .action(Array(tokens.dropFirst()), line: line)
                        return (nodes, ("else", line))
                    case "if", "with", "range":
                        nodes.append(try control(keyword, Array(tokens.dropFirst()), line: line))
                        continue
                    case "define", "template", "block", "break", "continue":
                        throw TemplateError(name: name, line: line, message: "{{\(keyword)}} is not supported")
                    default:
                        break
                    }
                }
                nodes.append(.action(try pipeline(tokens, line: line, allowDeclaration: true)))
            }
        }
        return (nodes, nil)
    }

    /// `if`, `with` or `range` and its branches up to the matching `{{end}}`.
    private mutating func control(_ keyword: String, _ tokens: [TemplateToken], line: Int) throws(TemplateError)
        -> TemplateNode
    {
        let condition = try pipeline(tokens, line: line, allowDeclaration: true)
        let (body, terminator) = try list()
        var otherwise: [TemplateNode] = []
        switch terminator {
        case nil:
            throw TemplateError(name: name, line: line, message: "unexpected EOF")
        case ("else", let elseLine)?:
            if case .action(let rest, _) = items[index - 1], case .identifier(let nested) = rest.first,
                nested == "if" || nested == "with"
            {
                // `{{else if c}}` is an `if` nested in the else branch sharing the same `{{end}}`.
                otherwise = [try control(nested, Array(rest.dropFirst()), line: elseLine)]
            } else {
                if case .action(let rest, _) = items[index - 1], let first = rest.first {
                    throw unexpected(first, line: elseLine, in: "else")
                }
                let (elseBody, end) = try list()
                guard end?.0 == "end" else {
                    throw TemplateError(
                        name: name, line: end?.1 ?? elseLine,
                        message: "expected end; found \(end.map { "{{\($0.0)}}" } ?? "EOF")")
                }
                otherwise = elseBody
            }
        default:
            break
        }
        return keyword == "range"
            ? .range(condition, body: body, otherwise: otherwise)
            : .conditional(condition, then: body, otherwise: otherwise, setsDot: keyword == "with")
    }

    /// A pipeline from an action's tokens.
    private mutating func pipeline(_ tokens: [TemplateToken], line: Int, allowDeclaration: Bool) throws(TemplateError)
        -> TemplatePipeline
    {
        var tokens = tokens[...]
        var variable: String?
        if allowDeclaration, tokens.count >= 2, case .variable(let declared, let path) = tokens.first, path.isEmpty {
            let second = tokens[tokens.startIndex + 1]
            if second == .declare {
                variables.insert(declared)
                variable = declared
                tokens = tokens.dropFirst(2)
            } else if second == .assign {
                guard variables.contains(declared) else {
                    throw TemplateError(name: name, line: line, message: "undefined variable \(declared.goQuoted)")
                }
                variable = declared
                tokens = tokens.dropFirst(2)
            }
        }
        var commands: [TemplateCommand] = []
        var operands: [TemplateOperand] = []
        while let token = tokens.first {
            tokens = tokens.dropFirst()
            switch token {
            case .pipe:
                guard !operands.isEmpty else {
                    throw TemplateError(name: name, line: line, message: "missing value for command")
                }
                commands.append(TemplateCommand(operands: operands))
                operands = []
            case .leftParen:
                var depth = 1
                var inner: [TemplateToken] = []
                while let next = tokens.first {
                    tokens = tokens.dropFirst()
                    if next == .leftParen { depth += 1 }
                    if next == .rightParen {
                        depth -= 1
                        if depth == 0 { break }
                    }
                    inner.append(next)
                }
                guard depth == 0 else { throw TemplateError(name: name, line: line, message: "unclosed left paren") }
                operands.append(.pipeline(try pipeline(inner, line: line, allowDeclaration: false)))
            case .rightParen:
                throw TemplateError(name: name, line: line, message: "unexpected right paren")
            case .declare, .assign:
                throw unexpected(token, line: line, in: "operand")
            case .identifier(let function):
                guard functions.contains(function) else {
                    let message =
                        Self.unsupported.contains(function)
                        ? "function \(function.goQuoted) is not supported by Opsight (templates cannot run queries)"
                        : "function \(function.goQuoted) not defined"
                    throw TemplateError(name: name, line: line, message: message)
                }
                operands.append(.function(function))
            case .field(let path):
                operands.append(.field(path))
            case .variable(let variable, let path):
                guard variables.contains(variable) else {
                    throw TemplateError(name: name, line: line, message: "undefined variable \(variable.goQuoted)")
                }
                operands.append(.variable(variable, path))
            case .string(let text):
                operands.append(.literal(.string(text)))
            case .number(let text):
                operands.append(.literal(TemplateNumber.parse(text) ?? .null))
            case .bool(let value):
                operands.append(.literal(.bool(value)))
            case .null:
                operands.append(.literal(.null))
            }
        }
        guard !operands.isEmpty else {
            throw TemplateError(name: name, line: line, message: "missing value for command")
        }
        commands.append(TemplateCommand(operands: operands))
        return TemplatePipeline(variable: variable, commands: commands, line: line)
    }

    private func unexpected(_ token: TemplateToken, line: Int, in context: String) -> TemplateError {
        TemplateError(name: name, line: line, message: "unexpected \(token.quoted) in \(context)")
    }

    /// Prometheus functions that need a query engine, which rule templates here do not have.
    private static let unsupported: Set<String> = ["query", "first", "label", "value", "strvalue", "sortByLabel"]
}

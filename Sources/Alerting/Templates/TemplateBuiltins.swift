/// Go's `text/template` builtin functions (comparison, logic, `len`, `index`, `print`…).
enum TemplateBuiltins {
    /// Calls builtin `name`.
    static func call(_ name: String, _ arguments: [TemplateValue]) throws(TemplateFunctions.Failure) -> TemplateValue {
        switch name {
        case "and": return arguments.first { !$0.isTruthy } ?? arguments.last ?? .null
        case "or": return arguments.first { $0.isTruthy } ?? arguments.last ?? .null
        case "not":
            guard arguments.count == 1 else { throw arity(name, 1, arguments.count) }
            return .bool(!arguments[0].isTruthy)
        case "len":
            guard arguments.count == 1 else { throw arity(name, 1, arguments.count) }
            switch arguments[0] {
            case .string(let text): return .int(text.utf8.count)
            case .labels(let map): return .int(map.count)
            case .object(let map): return .int(map.count)
            case .list(let items): return .int(items.count)
            default: throw TemplateFunctions.Failure(message: "len of type \(arguments[0].typeName)")
            }
        case "index":
            guard var value = arguments.first else { throw arity(name, 1, 0) }
            for key in arguments.dropFirst() {
                switch (value, key) {
                case (.labels(let map), .string(let name)): value = .string(map[name] ?? "")
                case (.object(let map), .string(let name)): value = map[name] ?? .null
                case (.list(let items), .int(let position)):
                    guard items.indices.contains(position) else {
                        throw TemplateFunctions.Failure(message: "index out of range: \(position)")
                    }
                    value = items[position]
                default:
                    throw TemplateFunctions.Failure(message: "can't index item of type \(value.typeName)")
                }
            }
            return value
        case "eq":
            guard let first = arguments.first, arguments.count >= 2 else { throw arity(name, 2, arguments.count) }
            for other in arguments.dropFirst() where try compare(first, other) == 0 { return .bool(true) }
            return .bool(false)
        case "ne", "lt", "le", "gt", "ge":
            guard arguments.count == 2 else { throw arity(name, 2, arguments.count) }
            let order = try compare(arguments[0], arguments[1])
            switch name {
            case "ne": return .bool(order != 0)
            case "lt": return .bool(order < 0)
            case "le": return .bool(order <= 0)
            case "gt": return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case "print": return .string(sprint(arguments))
        case "println": return .string(arguments.map(\.printed).joined(separator: " ") + "\n")
        case "printf":
            guard case .string(let format) = arguments.first else {
                throw TemplateFunctions.Failure(
                    message: "wrong type for value; expected string; got \(arguments.first?.typeName ?? "nothing")")
            }
            return .string(GoPrintf.format(format, Array(arguments.dropFirst())))
        default:
            throw TemplateFunctions.Failure(message: "function \(name.goQuoted) not defined")
        }
    }

    /// Go's `fmt.Sprint`: a space between operands when neither is a string.
    private static func sprint(_ arguments: [TemplateValue]) -> String {
        var text = ""
        for (index, argument) in arguments.enumerated() {
            if index > 0 {
                let isString: (TemplateValue) -> Bool = { if case .string = $0 { true } else { false } }
                if !isString(argument) && !isString(arguments[index - 1]) { text += " " }
            }
            text += argument.printed
        }
        return text
    }

    /// -1, 0 or 1; basic values of the same kind only, as Go's `eq`/`lt`.
    private static func compare(_ lhs: TemplateValue, _ rhs: TemplateValue) throws(TemplateFunctions.Failure) -> Int {
        switch (lhs, rhs) {
        case (.int(let a), .int(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.float(let a), .float(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.string(let a), .string(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.bool(let a), .bool(let b)) where a == b: return 0
        case (.bool, .bool): return 1
        case (.null, .null): return 0
        default: throw TemplateFunctions.Failure(message: "incompatible types for comparison")
        }
    }

    private static func arity(_ name: String, _ want: Int, _ got: Int) -> TemplateFunctions.Failure {
        TemplateFunctions.Failure(message: "wrong number of args for \(name): want \(want) got \(got)")
    }
}

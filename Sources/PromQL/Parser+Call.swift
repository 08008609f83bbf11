extension Parser {
    /// Parses a call of a supported function, the function's name being current; rejects the rest.
    mutating func parseCall() throws(PromQLError) -> FunctionCall {
        let name = current
        guard let function = Function(rawValue: name.text) else {
            throw PromQLError(.unsupported, Rejection.function(name.text), at: name.position)
        }
        consume()
        let arguments = try parseArguments()
        let expected = function.argumentTypes
        guard arguments.count == expected.count else {
            throw PromQLError(
                .invalid,
                "expected \(expected.count) argument(s) in call to \(name.text.goQuoted), got \(arguments.count)",
                at: name.position)
        }
        for (argument, type) in zip(arguments, expected) where argument.type != type {
            throw PromQLError(
                .invalid, "expected type \(type) in call to function \(name.text.goQuoted), got \(argument.type)",
                at: argument.position)
        }
        return FunctionCall(function: function, arguments: arguments, position: name.position)
    }
}

/// One lexical token of a PromQL expression.
struct Token: Hashable, Sendable {
    /// What the token is, with its decoded value.
    enum Kind: Hashable, Sendable {
        /// A word: metric name, label name, keyword, function or aggregation name (may contain `:`).
        case identifier(String)
        /// A number literal, already parsed.
        case number(Double)
        /// A duration such as `5m`, as seconds.
        case duration(Double)
        /// A string literal, unescaped.
        case string(String)
        /// Punctuation or an operator: `(`, `{`, `,`, `+`, `==`, `=~` …
        case symbol(String)
        /// The end of the input.
        case end
        /// Text the lexer could not read; parsing stops here with this error.
        case error(PromQLError)
    }

    /// The kind and value.
    var kind: Kind
    /// The token as written in the source.
    var text: String
    /// Where the token starts.
    var position: SourcePosition

    /// The identifier's text, if the token is one.
    var word: String? {
        if case .identifier(let word) = kind { return word }
        return nil
    }

    /// Whether the token is the given symbol.
    func `is`(_ symbol: String) -> Bool { kind == .symbol(symbol) }

    /// Whether the token is the given keyword (keywords are case-insensitive, as in Prometheus).
    func isKeyword(_ keyword: String) -> Bool { word?.lowercased() == keyword }

    /// How the token is named in an error message, e.g. `')'` or `identifier 'foo'`.
    var quoted: String {
        switch kind {
        case .identifier: "identifier '\(text)'"
        case .number: "number '\(text)'"
        case .duration: "duration '\(text)'"
        case .string: "string \(text)"
        case .symbol: "'\(text)'"
        case .end: "end of input"
        case .error: "invalid text"
        }
    }
}

/// A JSON value located, but not yet converted, inside a line: what it is and where its bytes are.
///
/// Keeping only offsets lets the decoder validate a whole line first and create `String`s just for
/// the fields it keeps.
struct JSONValue {
    /// The syntactic type of a JSON value.
    enum Kind: UInt8 {
        case string, number, `true`, `false`, null, object, array
    }

    /// The value's type.
    var kind: Kind
    /// Start offset: for strings the first byte after the opening quote, otherwise the first byte.
    var start: Int
    /// End offset (exclusive): for strings the closing quote.
    var end: Int
    /// Strings: whether the content holds escapes, so it cannot be copied verbatim.
    var hasEscapes: Bool = false
    /// Numbers: whether the literal has neither a fraction nor an exponent.
    var isInteger: Bool = false
}

import OpsightMetrics
/// Random strings that stress JSON escaping: quotes, backslashes, every control character, non-ASCII.
struct RandomText {
    /// Pieces strings are built from; each is a valid string on its own.
    static let pieces: [String] =
        [
            "a", "Z", "0", " ", "/", "_", "-", ":", "{", "}", "[", "]", ",", "\"", "\\", "\\\"", "\\u0041", "'",
            "\u{7F}",
            "é", "e\u{301}", "日本", "🎉", "👩‍👩‍👧", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{10FFFF}", "ß", "Ω",
        ] + (0..<32).map { String(Character(Unicode.Scalar(UInt8($0)))) }

    /// A string of `minLength`…`maxLength` pieces.
    static func make(_ rng: inout SplitMix64, minLength: Int = 0, maxLength: Int = 12) -> String {
        let length = Int.random(in: minLength...maxLength, using: &rng)
        var text = ""
        for _ in 0..<length { text += pieces.randomElement(using: &rng)! }
        return text
    }
}

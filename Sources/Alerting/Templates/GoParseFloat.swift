/// Go's `strconv.ParseFloat` for the spellings it accepts beyond Swift's (`Inf`, `+Inf`, `NaN`, `_`).
enum GoParseFloat {
    /// The value of `text`, or `nil` when Go would reject it.
    static func parse(_ text: String) -> Double? {
        switch text.lowercased() {
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan": return .nan
        default: break
        }
        guard !text.isEmpty, !text.contains(" ") else { return nil }
        return Double(text)
    }
}

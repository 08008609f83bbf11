/// Number literals in templates: ints stay ints, anything with a point or exponent is a float64,
/// as Go's template constants.
enum TemplateNumber {
    /// The value of `text`, or `nil` if it is not a number.
    static func parse(_ text: String) -> TemplateValue? {
        if let value = Int(text) { return .int(value) }
        if text.hasPrefix("0x") || text.hasPrefix("0X"), let value = Int(text.dropFirst(2), radix: 16) {
            return .int(value)
        }
        if let value = Double(text), value.isFinite { return .float(value) }
        return nil
    }
}

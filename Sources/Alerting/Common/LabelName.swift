/// Checks for label and metric names as Prometheus's classic (legacy) validation scheme has them.
public enum LabelName {
    /// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, isLetter(first) || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { isLetter($0) || isDigit($0) || $0 == "_" }
    }

    /// Whether `name` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`, a valid metric name.
    public static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, isLetter(first) || first == "_" || first == ":" else {
            return false
        }
        return name.unicodeScalars.allSatisfy { isLetter($0) || isDigit($0) || $0 == "_" || $0 == ":" }
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }
}

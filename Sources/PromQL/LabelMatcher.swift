/// A condition on one label of a series: `name="v"`, `name!="v"`, `name=~"re"` or `name!~"re"`.
///
/// A series without the label is matched as if its value were empty, as in Prometheus. Regular
/// expressions (RE2 syntax, as Prometheus) are fully anchored (`^(?:re)$`) and `.` also matches a newline.
public struct LabelMatcher: Hashable, Sendable, CustomStringConvertible {
    /// How the value is compared.
    public enum Operator: String, Hashable, Sendable, CaseIterable {
        /// `=`
        case equal = "="
        /// `!=`
        case notEqual = "!="
        /// `=~`
        case regexMatch = "=~"
        /// `!~`
        case regexNoMatch = "!~"
    }

    /// The label name.
    public let name: String
    /// The value or regular expression, as written (unescaped).
    public let value: String
    /// The comparison.
    public let op: Operator
    private let regex: LabelRegex?

    /// Creates a matcher; throws `.invalid` if a regular expression does not compile.
    public init(name: String, op: Operator, value: String) throws(PromQLError) {
        try self.init(name: name, op: op, value: value, position: .start)
    }

    /// Creates a matcher whose regex errors point at `position`.
    init(name: String, op: Operator, value: String, position: SourcePosition) throws(PromQLError) {
        self.name = name
        self.op = op
        self.value = value
        switch op {
        case .equal, .notEqual:
            regex = nil
        case .regexMatch, .regexNoMatch:
            do {
                regex = try LabelRegex(value)
            } catch {
                throw PromQLError(
                    .invalid, "invalid regular expression \(value.goQuoted) for label \(name): \(error.reason)",
                    at: position)
            }
        }
    }

    /// An equality matcher, which cannot fail.
    public init(name: String, equalTo value: String) {
        self.name = name
        self.op = .equal
        self.value = value
        self.regex = nil
    }

    /// Whether a label value (empty when the label is absent) satisfies the matcher.
    public func matches(_ candidate: String) -> Bool {
        switch op {
        case .equal: candidate == value
        case .notEqual: candidate != value
        case .regexMatch: regex?.matches(candidate) ?? false
        case .regexNoMatch: !(regex?.matches(candidate) ?? false)
        }
    }

    /// Whether a series with `labels` satisfies the matcher.
    public func matches(_ labels: Labels) -> Bool {
        matches(labels[name] ?? "")
    }

    /// The samples that satisfy every one of `matchers`, in order.
    ///
    /// Each matcher's answer is kept per label value for the call: a selection's samples repeat few values (10 000
    /// request series are 20 services × 500 routes), and a regular expression matched once per sample was most of a
    /// regex selection. Consecutive samples often share a value (a route across services, in label order), which is
    /// checked first without hashing it.
    public static func filter(_ samples: [Sample], _ matchers: [LabelMatcher]) -> [Sample] {
        guard !matchers.isEmpty else { return samples }
        let names = matchers.map(\.name)
        var answers = [[String: Bool]](repeating: [:], count: matchers.count)
        // The last value each matcher saw and its answer (none yet: an empty value never asked).
        var lastValue = [String?](repeating: nil, count: matchers.count)
        var lastAnswer = [Bool](repeating: false, count: matchers.count)
        var kept: [Sample] = []
        for s in samples.indices {
            var keep = true
            for i in names.indices {
                let value = samples[s].labels[names[i]] ?? ""
                let answer: Bool
                if lastValue[i] == value {
                    answer = lastAnswer[i]
                } else {
                    if let known = answers[i][value] {
                        answer = known
                    } else {
                        answer = matchers[i].matches(value)
                        answers[i][value] = answer
                    }
                    lastValue[i] = value
                    lastAnswer[i] = answer
                }
                guard answer else {
                    keep = false
                    break
                }
            }
            if keep { kept.append(samples[s]) }
        }
        return kept
    }

    /// `name="value"`, the value quoted as Prometheus prints it.
    public var description: String { name + op.rawValue + value.goQuoted }

    /// Matchers are equal when name, operator and value are.
    public static func == (lhs: LabelMatcher, rhs: LabelMatcher) -> Bool {
        lhs.name == rhs.name && lhs.op == rhs.op && lhs.value == rhs.value
    }

    /// Hashes name, operator and value.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(op)
        hasher.combine(value)
    }
}

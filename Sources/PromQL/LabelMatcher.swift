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
    /// Each matcher's answer is kept per label for the call: a selection's samples repeat few values (10 000 request
    /// series are 20 services × 500 routes), and a regular expression matched once per sample was most of a regex
    /// selection. The labels are read in place, at positions found once per layout of names (``LabelLayouts``), and
    /// the answers found by the hash each label took when it was made (``LabelAnswers``): looking each label up by
    /// name, copying its value out and hashing the string again cost more than the matching.
    public static func filter(_ samples: [Sample], _ matchers: [LabelMatcher]) -> [Sample] {
        guard !matchers.isEmpty else { return samples }
        var layouts = LabelLayouts { pairs in
            matchers.map { m in pairs.firstIndex { $0.name == m.name } ?? -1 }
        }
        var answers = [LabelAnswers](repeating: LabelAnswers(), count: matchers.count)
        // A label a series lacks is matched as the empty value: once per matcher.
        let absent = matchers.map { $0.matches("") }
        var kept: [Sample] = []
        for s in samples.indices {
            let keep = samples[s].labels.pairs.withUnsafeBufferPointer { pairs -> Bool in
                let layout = layouts.layout(of: pairs)  // before reading the positions: it may add them
                let at = layouts.positions(layout)
                for i in matchers.indices {
                    let p = at[at.startIndex + i]
                    let answer = p < 0 ? absent[i] : answers[i].answer(pairs, p) { matchers[i].matches($0) }
                    if !answer { return false }
                }
                return true
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

/// A matcher's answers per label, found by the hash the label took when it was made (no string hashed again).
struct LabelAnswers {
    private var slots = [Int32](repeating: -1, count: 64)
    private var labels: [Label] = []
    private var answers: [Bool] = []

    /// The answer for `pairs[p]` (read in place: copying a label out retains its strings): the one kept, else
    /// `ask(value)`'s, kept.
    @inline(__always)
    mutating func answer(_ pairs: UnsafeBufferPointer<Label>, _ p: Int, _ ask: (String) -> Bool) -> Bool {
        let mask = slots.count - 1
        var slot = pairs[p].pairHash & mask
        let found = labels.withUnsafeBufferPointer { labels -> Int? in
            while slots[slot] >= 0 {
                let entry = Int(slots[slot])
                if labels[entry] == pairs[p] { return entry }
                slot = (slot + 1) & mask
            }
            return nil
        }
        if let found { return answers[found] }
        let answer = ask(pairs[p].value)
        slots[slot] = Int32(labels.count)
        labels.append(pairs[p])
        answers.append(answer)
        if 2 * labels.count > slots.count { grow() }
        return answer
    }

    private mutating func grow() { slots = HashSlots.rebuilt(labels.lazy.map(\.pairHash), size: slots.count * 2) }
}

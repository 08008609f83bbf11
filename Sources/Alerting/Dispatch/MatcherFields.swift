import PromQL
import Yams

/// Reads matcher lists in their three spellings: `matchers: ['a="b"']`, legacy `match: {a: b}` and
/// `match_re: {a: "b|c"}`.
struct MatcherFields {
    /// Where errors go.
    let scope: YAMLScope

    /// The matchers of `key` (new syntax), `legacyEqual` and `legacyRegex` of `fields`.
    func matchers(_ fields: YAMLMapping, key: String, legacyEqual: String, legacyRegex: String) -> [LabelMatcher] {
        var result: [LabelMatcher] = []
        if let node = fields.value(key), let lines = scope.sequence(node, what: key) {
            for line in lines {
                guard let text = scope.string(line, what: "matcher") else { continue }
                switch MatcherParser.parse(text) {
                case .success(let matchers): result += matchers
                case .failure(let error): scope.report(.invalidValue, at: line, "invalid matcher: \(error.message)")
                }
            }
        }
        for (legacy, op) in [(legacyEqual, LabelMatcher.Operator.equal), (legacyRegex, .regexMatch)] {
            guard let node = fields.value(legacy), let pairs = scope.stringMap(node, what: legacy) else { continue }
            for pair in pairs {
                guard LabelName.isValid(pair.key) else {
                    scope.report(.invalidValue, line: pair.line, "invalid label name \(pair.key.goQuoted) in \(legacy)")
                    continue
                }
                do {
                    result.append(try LabelMatcher(name: pair.key, op: op, value: pair.value))
                } catch {
                    scope.report(
                        .invalidValue, line: pair.line, "invalid regular expression \(pair.value.goQuoted) in \(legacy)"
                    )
                }
            }
        }
        return result
    }
}

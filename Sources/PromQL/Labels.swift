/// The identity of a series: labels sorted by name, the metric name as `__name__`.
///
/// Names and values are ordered as Swift orders strings (by Unicode scalars of the NFC form), which
/// is Prometheus's byte order for all NFC text.
///
/// Labels with empty values are dropped, as in Prometheus an empty value means "absent".
public struct Labels: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByDictionaryLiteral {
    /// The reserved label holding the metric name.
    public static let metricName = "__name__"

    /// The labels, sorted by name, names unique, values non-empty.
    public private(set) var pairs: [Label]

    /// No labels.
    public static let empty = Labels(sorted: [])

    /// Creates labels from name/value pairs; a later duplicate name wins; empty values are dropped.
    public init(_ pairs: some Sequence<(String, String)>) {
        // A series has a handful of labels: found by a linear search rather than through a dictionary (hashing every
        // name, then sorting the dictionary's pairs), which was a sixth of a 500-series chart's range query.
        let all = Array(pairs)
        guard all.count <= 32 else {
            self.init(byName: all)
            return
        }
        var list: [(name: String, value: String)] = []
        list.reserveCapacity(all.count)
        for (name, value) in all {
            if let i = list.firstIndex(where: { $0.name == name }) {
                list[i].value = value
            } else {
                list.append((name, value))
            }
        }
        list.sort { $0.name < $1.name }
        self.init(sorted: list.compactMap { $0.value.isEmpty ? nil : Label(name: $0.name, value: $0.value) })
    }

    /// ``init(_:)`` through a dictionary, for many labels.
    init(byName pairs: some Sequence<(String, String)>) {
        var byName: [String: String] = [:]
        for (name, value) in pairs { byName[name] = value }
        self.init(
            sorted: byName.filter { !$0.value.isEmpty }.map { Label(name: $0.key, value: $0.value) }
                .sorted { $0.name < $1.name })
    }

    /// Creates labels from a dictionary.
    public init(_ dictionary: [String: String]) {
        self.init(dictionary.map { ($0.key, $0.value) })
    }

    /// Creates labels from a literal such as `["__name__": "up", "job": "api"]`.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Wraps pairs already sorted, unique and non-empty.
    init(sorted pairs: [Label]) {
        self.pairs = pairs
    }

    /// Wraps pairs the caller has laid out sorted by name, names unique and values non-empty (checked in debug
    /// builds): a source building many label sets of a known shape skips the sort and the dictionary.
    public init(sortedPairs pairs: [Label]) {
        assert(
            pairs.indices.dropFirst().allSatisfy { pairs[$0 - 1].name < pairs[$0].name }
                && pairs.allSatisfy { !$0.value.isEmpty },
            "labels not sorted, unique and non-empty: \(pairs)")
        self.pairs = pairs
    }

    /// The value of label `name`, or `nil` if absent.
    public subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// The metric name (`__name__`), if any.
    public var name: String? { self[Labels.metricName] }

    /// Whether there are no labels.
    public var isEmpty: Bool { pairs.isEmpty }

    /// These labels without the listed names.
    public func removing(names: some Collection<String>) -> Labels {
        Labels(sorted: pairs.filter { !names.contains($0.name) })
    }

    /// Only the listed names of these labels.
    public func keeping(names: some Collection<String>) -> Labels {
        Labels(sorted: pairs.filter { names.contains($0.name) })
    }

    /// These labels without `__name__`.
    public func droppingMetricName() -> Labels {
        guard name != nil else { return self }
        return removing(names: [Labels.metricName])
    }

    /// These labels with `name` set to `value` (removed when `value` is empty).
    public func setting(_ name: String, to value: String) -> Labels {
        var rest = pairs.filter { $0.name != name }
        if !value.isEmpty {
            let index = rest.firstIndex { $0.name >= name } ?? rest.endIndex
            rest.insert(Label(name: name, value: value), at: index)
        }
        return Labels(sorted: rest)
    }

    /// The labels as a dictionary.
    public var dictionary: [String: String] {
        Dictionary(uniqueKeysWithValues: pairs.map { ($0.name, $0.value) })
    }

    /// Prometheus's text form: `{__name__="up", job="api"}`, values quoted as Go does.
    public var description: String {
        "{" + pairs.map { "\($0.name)=\($0.value.goQuoted)" }.joined(separator: ", ") + "}"
    }

    /// Prometheus's order (`labels.Compare`): pair by pair, name then value; shorter first.
    public static func < (lhs: Labels, rhs: Labels) -> Bool {
        // Read in place: copying each `Label` out (as iterating a zip does) retains and releases both strings, and
        // at 10 000 series that was most of checking that a selection is already sorted.
        lhs.pairs.withUnsafeBufferPointer { left in
            rhs.pairs.withUnsafeBufferPointer { right in
                for i in 0..<min(left.count, right.count) {
                    if left[i].name != right[i].name { return left[i].name < right[i].name }
                    if left[i].value != right[i].value { return left[i].value < right[i].value }
                }
                return left.count < right.count
            }
        }
    }
}

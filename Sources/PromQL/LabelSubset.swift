/// The part of a series' labels that aggregation groups by (`by`/`without`) and vector matching matches on
/// (`on`/`ignoring`), hashed and compared in place.
///
/// A group or a match signature was once a `Labels` (or a key of values) built per sample and hashed in a
/// `Dictionary`; at 10 000 series a side, building, hashing and freeing those keys was most of a binary
/// operation's time. Here nothing is built per sample: the hash is taken over the subset's pairs where they lie, and
/// two samples are compared the same way (``SubsetTable``).
struct LabelSubset: Sendable {
    /// The listed names.
    let names: [String]
    /// Whether the subset is the listed names (`on`, `by`) or every other label (`ignoring`, `without`, which also
    /// drop the metric name).
    let keepsListed: Bool

    /// Only the listed labels.
    static func keeping(_ names: [String]) -> LabelSubset {
        LabelSubset(names: names, keepsListed: true)
    }

    /// Every label but the listed ones and `__name__`.
    static func removing(_ names: [String]) -> LabelSubset {
        LabelSubset(names: names + [Labels.metricName], keepsListed: false)
    }

    /// The subset of `labels` as labels (a result's labels, an error message's signature).
    func labels(of labels: Labels) -> Labels {
        keepsListed ? labels.keeping(names: names) : labels.removing(names: names)
    }

    /// A hash of the subset of `labels`: equal subsets hash alike.
    ///
    /// Made of the hashes each `Label` took when it was made, read by index where they lie: no string is hashed
    /// or copied (copying a `Label` out retains and releases its strings, and hashing them again per sample of every
    /// query was most of a binary operation at 10 000 series).
    func hash(of labels: Labels) -> Int {
        var hasher = Hasher()
        labels.pairs.withUnsafeBufferPointer { pairs in
            if keepsListed {
                // Each listed name's label or, when absent, a marker: the same values in the same places are the same
                // pairs, since `Labels` never hold an empty value.
                for name in names {
                    hasher.combine(Self.index(of: name, in: pairs).map { pairs[$0].pairHash } ?? 0)
                }
            } else {
                for i in pairs.indices where !names.contains(pairs[i].name) {
                    hasher.combine(pairs[i].pairHash)
                }
            }
        }
        return hasher.finalize()
    }

    /// Whether `a` and `b` have the same subset (``labels(of:)`` of each are equal).
    func equal(_ a: Labels, _ b: Labels) -> Bool {
        a.pairs.withUnsafeBufferPointer { left in
            b.pairs.withUnsafeBufferPointer { right in
                if keepsListed {
                    for name in names {
                        switch (Self.index(of: name, in: left), Self.index(of: name, in: right)) {
                        case (nil, nil): continue
                        case (let i?, let j?) where left[i] == right[j]: continue
                        default: return false
                        }
                    }
                    return true
                }
                // Both lists are sorted by name: walk them together, skipping the names left out.
                var i = 0
                var j = 0
                while true {
                    while i < left.count, names.contains(left[i].name) { i += 1 }
                    while j < right.count, names.contains(right[j].name) { j += 1 }
                    guard i < left.count, j < right.count else { return i == left.count && j == right.count }
                    guard left[i] == right[j] else { return false }
                    i += 1
                    j += 1
                }
            }
        }
    }

    private static func index(of name: String, in pairs: UnsafeBufferPointer<Label>) -> Int? {
        for i in pairs.indices where pairs[i].name == name { return i }
        return nil
    }
}

/// The distinct subsets of a sequence of label sets, numbered in the order they first appear: an open-addressing
/// table of entry numbers, the entries' hashes and their first label sets (compared in place by ``LabelSubset``).
struct SubsetTable {
    let subset: LabelSubset
    /// Entry number per slot, -1 where empty; a power of two at least twice the entries.
    private var slots: [Int32]
    private var hashes: [Int] = []
    /// The first label set of each entry.
    private(set) var representatives: [Labels] = []

    /// An empty table sized for `capacity` entries (it grows past them).
    init(_ subset: LabelSubset, capacity: Int) {
        self.subset = subset
        var size = 16
        while size < 2 * capacity { size *= 2 }
        slots = [Int32](repeating: -1, count: size)
        hashes.reserveCapacity(capacity)
        representatives.reserveCapacity(capacity)
    }

    /// Entries so far.
    var count: Int { representatives.count }

    /// The entry of `labels`' subset, if any.
    func find(_ labels: Labels) -> Int? {
        let hash = subset.hash(of: labels)
        return slots.withUnsafeBufferPointer { slots in
            hashes.withUnsafeBufferPointer { hashes in
                representatives.withUnsafeBufferPointer { representatives in
                    var slot = hash & (slots.count - 1)
                    while slots[slot] >= 0 {
                        let entry = Int(slots[slot])
                        if hashes[entry] == hash, subset.equal(representatives[entry], labels) { return entry }
                        slot = (slot + 1) & (slots.count - 1)
                    }
                    return nil
                }
            }
        }
    }

    /// The entry of `labels`' subset, a new one (numbered ``count``) when none had it.
    mutating func insert(_ labels: Labels) -> (entry: Int, inserted: Bool) {
        let hash = subset.hash(of: labels)
        let mask = slots.count - 1
        var slot = hash & mask
        let found: Int? = hashes.withUnsafeBufferPointer { hashes in
            representatives.withUnsafeBufferPointer { representatives in
                while slots[slot] >= 0 {
                    let entry = Int(slots[slot])
                    if hashes[entry] == hash, subset.equal(representatives[entry], labels) { return entry }
                    slot = (slot + 1) & mask
                }
                return nil
            }
        }
        if let found { return (found, false) }
        let entry = representatives.count
        slots[slot] = Int32(entry)
        hashes.append(hash)
        representatives.append(labels)
        if 2 * representatives.count > slots.count { grow() }
        return (entry, true)
    }

    private mutating func grow() {
        var bigger = [Int32](repeating: -1, count: slots.count * 2)
        let mask = bigger.count - 1
        for (entry, hash) in hashes.enumerated() {
            var slot = hash & mask
            while bigger[slot] >= 0 { slot = (slot + 1) & mask }
            bigger[slot] = Int32(entry)
        }
        slots = bigger
    }
}

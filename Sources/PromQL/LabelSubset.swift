/// The part of a series' labels that aggregation groups by (`by`/`without`) and vector matching matches on
/// (`on`/`ignoring`), hashed and compared in place.
///
/// A group or a match signature was once a `Labels` (or a key of values) built per sample and hashed in a
/// `Dictionary`; at 10 000 series a side, building, hashing and freeing those keys was most of a binary
/// operation's time. Here nothing is built per sample: the subset is a list of positions in the sample's own pairs
/// (``positions(in:)``), found once per layout of names (``LabelLayouts``), and its hash is made of the hashes its
/// labels took when they were made (``SubsetTable``).
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

    /// Where the subset's labels lie in `pairs`: for listed names one position per name, in the list's order, -1
    /// where the label is absent (the same values in the same places are the same subset, since `Labels` never hold
    /// an empty value); otherwise the position of every label not listed, in order.
    func positions(in pairs: UnsafeBufferPointer<Label>) -> [Int] {
        if keepsListed {
            return names.map { name in pairs.firstIndex { $0.name == name } ?? -1 }
        }
        return pairs.indices.filter { !names.contains(pairs[$0].name) }
    }

    /// A hash of the subset of `labels`: equal subsets hash alike.
    func hash(of labels: Labels) -> Int {
        labels.pairs.withUnsafeBufferPointer { Self.hash(of: $0, at: positions(in: $0)[...]) }
    }

    /// Whether `a` and `b` have the same subset (``labels(of:)`` of each are equal).
    func equal(_ a: Labels, _ b: Labels) -> Bool {
        a.pairs.withUnsafeBufferPointer { left in
            b.pairs.withUnsafeBufferPointer { right in
                Self.equal(left, at: positions(in: left)[...], right, at: positions(in: right)[...])
            }
        }
    }

    /// A hash of the labels of `pairs` at `positions` (-1: absent).
    ///
    /// Made of the hashes each `Label` took when it was made (seeded per process, as `Hasher` is), mixed with a
    /// multiply and shift rather than fed to a `Hasher`: no string is hashed or copied, and `Hasher`'s setup and
    /// finalization per sample was a fifth of a binary operation at 10 000 series.
    @inline(__always)
    static func hash(of pairs: UnsafeBufferPointer<Label>, at positions: ArraySlice<Int>) -> Int {
        var h = UInt64(truncatingIfNeeded: positions.count) &* 0x9E37_79B9_7F4A_7C15
        for p in positions {
            let x = p >= 0 ? UInt64(bitPattern: Int64(pairs[p].pairHash)) : 0x2545_F491_4F6C_DD1D
            h = (h ^ x) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
        }
        // murmur3's finalizer: every bit of the input reaches the low bits a table indexes by.
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return Int(truncatingIfNeeded: h)
    }

    /// Whether the labels of `a` at `aPositions` equal those of `b` at `bPositions`, position for position.
    @inline(__always)
    static func equal(
        _ a: UnsafeBufferPointer<Label>, at aPositions: ArraySlice<Int>,
        _ b: UnsafeBufferPointer<Label>, at bPositions: ArraySlice<Int>
    ) -> Bool {
        guard aPositions.count == bPositions.count else { return false }
        // By offset, not through `zip` (which ran unspecialized, through generic witnesses).
        let offset = bPositions.startIndex - aPositions.startIndex
        for k in aPositions.indices {
            let (i, j) = (aPositions[k], bPositions[k + offset])
            if i < 0 || j < 0 {
                guard i < 0 && j < 0 else { return false }
            } else if a[i] != b[j] {
                return false
            }
        }
        return true
    }
}

/// The layouts of label sets (their names, position by position) met so far, each with the positions some function
/// of the names picks (a ``LabelSubset``'s labels, a result's labels): the samples of one family share one layout,
/// so the picking, which compares names, runs once per layout instead of once per sample.
///
/// A label set's layout is recognised by comparing its names with the last layout's: names are short and shared,
/// so equal names compare as equal words without reading their bytes.
struct LabelLayouts {
    private let pick: (UnsafeBufferPointer<Label>) -> [Int]
    /// Every layout's names, one after the other (`nameStart[l]..<nameStart[l + 1]`).
    private var names: [String] = []
    private var nameStart: [Int] = [0]
    /// Every layout's positions, one after the other (`positionStart[l]..<positionStart[l + 1]`).
    private var positions: [Int] = []
    private var positionStart: [Int] = [0]
    /// Layouts by names, for label sets whose layout is not the last one's.
    private var byNames: [[String]: Int] = [:]
    private var last = -1

    init(_ pick: @escaping (UnsafeBufferPointer<Label>) -> [Int]) {
        self.pick = pick
    }

    /// Layouts of ``LabelSubset/positions(in:)``.
    init(_ subset: LabelSubset) {
        self.init(subset.positions(in:))
    }

    /// The layout of `pairs` (added when new).
    @inline(__always)
    mutating func layout(of pairs: UnsafeBufferPointer<Label>) -> Int {
        if last >= 0, nameStart[last + 1] - nameStart[last] == pairs.count {
            let same = names.withUnsafeBufferPointer { names in
                let start = nameStart[last]
                for i in pairs.indices where names[start + i] != pairs[i].name { return false }
                return true
            }
            if same { return last }
        }
        return find(pairs)
    }

    private mutating func find(_ pairs: UnsafeBufferPointer<Label>) -> Int {
        let key = pairs.map(\.name)
        if let known = byNames[key] {
            last = known
            return known
        }
        let layout = byNames.count
        byNames[key] = layout
        names += key
        nameStart.append(names.count)
        positions += pick(pairs)
        positionStart.append(positions.count)
        last = layout
        return layout
    }

    /// The positions picked in label sets of `layout`.
    @inline(__always)
    func positions(_ layout: Int) -> ArraySlice<Int> {
        positions[positionStart[layout]..<positionStart[layout + 1]]
    }
}

/// The distinct subsets of a sequence of label sets, numbered in the order they first appear: an open-addressing
/// table of entry numbers, the entries' hashes, their first label sets and those sets' layouts (compared in place
/// by ``LabelSubset``).
struct SubsetTable {
    let subset: LabelSubset
    /// Entry number per slot, -1 where empty; a power of two at least twice the entries.
    private var slots: [Int32]
    private var hashes: [Int] = []
    /// The first label set of each entry.
    private(set) var representatives: [Labels] = []
    /// The layout of each entry's label set.
    private var representativeLayouts: [Int32] = []
    /// The layouts of the entries' label sets and of the label sets looked up (apart: a lookup of one family's
    /// samples in a table of another's does not alternate between two layouts).
    private var entryLayouts: LabelLayouts
    private var probeLayouts: LabelLayouts

    /// An empty table sized for `capacity` entries (it grows past them).
    init(_ subset: LabelSubset, capacity: Int) {
        self.subset = subset
        var size = 16
        while size < 2 * capacity { size *= 2 }
        slots = [Int32](repeating: -1, count: size)
        hashes.reserveCapacity(capacity)
        representatives.reserveCapacity(capacity)
        representativeLayouts.reserveCapacity(capacity)
        entryLayouts = LabelLayouts(subset)
        probeLayouts = LabelLayouts(subset)
    }

    /// Entries so far.
    var count: Int { representatives.count }

    /// The entry of `labels`' subset, if any.
    mutating func find(_ labels: Labels) -> Int? {
        labels.pairs.withUnsafeBufferPointer { pairs in
            // Two statements: `probeLayouts.positions(probeLayouts.layout(of: pairs))` reads the layouts before the
            // argument adds to them.
            let layout = probeLayouts.layout(of: pairs)
            let at = probeLayouts.positions(layout)
            return lookUp(pairs, at, hash: LabelSubset.hash(of: pairs, at: at)).entry
        }
    }

    /// The entry of `labels`' subset, a new one (numbered ``count``) when none had it.
    mutating func insert(_ labels: Labels) -> (entry: Int, inserted: Bool) {
        let (layout, hash, found, slot) = labels.pairs.withUnsafeBufferPointer { pairs in
            let layout = entryLayouts.layout(of: pairs)
            let at = entryLayouts.positions(layout)
            let hash = LabelSubset.hash(of: pairs, at: at)
            let (entry, slot) = lookUp(pairs, at, hash: hash)
            return (layout, hash, entry, slot)
        }
        if let found { return (found, false) }
        let entry = representatives.count
        slots[slot] = Int32(entry)
        hashes.append(hash)
        representatives.append(labels)
        representativeLayouts.append(Int32(layout))
        if 2 * representatives.count > slots.count { grow() }
        return (entry, true)
    }

    /// The entry whose subset is that of `pairs` at `positions`, or the empty slot where it would go.
    @inline(__always)
    private func lookUp(
        _ pairs: UnsafeBufferPointer<Label>, _ positions: ArraySlice<Int>, hash: Int
    ) -> (entry: Int?, slot: Int) {
        slots.withUnsafeBufferPointer { slots in
            hashes.withUnsafeBufferPointer { hashes in
                let mask = slots.count - 1
                var slot = hash & mask
                while slots[slot] >= 0 {
                    let entry = Int(slots[slot])
                    if hashes[entry] == hash, equalsEntry(entry, pairs, positions) { return (entry, slot) }
                    slot = (slot + 1) & mask
                }
                return (nil, slot)
            }
        }
    }

    private func equalsEntry(_ entry: Int, _ pairs: UnsafeBufferPointer<Label>, _ positions: ArraySlice<Int>) -> Bool {
        representatives.withUnsafeBufferPointer { representatives in
            representatives[entry].pairs.withUnsafeBufferPointer { own in
                LabelSubset.equal(
                    own, at: entryLayouts.positions(Int(representativeLayouts[entry])), pairs, at: positions)
            }
        }
    }

    private mutating func grow() { slots = HashSlots.rebuilt(hashes, size: slots.count * 2) }
}

/// Label sets made of other sets' labels at some positions, each distinct one built once and then shared: the
/// results of a matching whose caller reads a few labels (`sum by (service) (a * on(…) b)`: 10 000 results, 20
/// distinct sets) rather than an array allocated, filled, and freed, per result. At most ``maxSets`` are kept; past
/// them each is built.
struct SharedLabels {
    static let maxSets = 4_096
    private var slots = [Int32](repeating: -1, count: 64)
    private var hashes: [Int] = []
    private var sets: [Labels] = []

    /// The labels of `pairs` at `positions`: a set built before when one is equal, else `build()`'s.
    @inline(__always)
    mutating func labels(
        _ pairs: UnsafeBufferPointer<Label>, at positions: ArraySlice<Int>, otherwise build: () -> Labels
    ) -> Labels {
        let hash = LabelSubset.hash(of: pairs, at: positions)
        let mask = slots.count - 1
        var slot = hash & mask
        while slots[slot] >= 0 {
            let entry = Int(slots[slot])
            if hashes[entry] == hash, Self.equal(sets[entry], pairs, positions) { return sets[entry] }
            slot = (slot + 1) & mask
        }
        let built = build()
        guard sets.count < Self.maxSets else { return built }
        slots[slot] = Int32(sets.count)
        hashes.append(hash)
        sets.append(built)
        if 2 * sets.count > slots.count { grow() }
        return built
    }

    /// Whether `set` is the labels of `pairs` at `positions`.
    private static func equal(_ set: Labels, _ pairs: UnsafeBufferPointer<Label>, _ positions: ArraySlice<Int>) -> Bool
    {
        set.pairs.withUnsafeBufferPointer { own in
            guard own.count == positions.count else { return false }
            let start = positions.startIndex
            for k in own.indices where own[k] != pairs[positions[start + k]] { return false }
            return true
        }
    }

    private mutating func grow() { slots = HashSlots.rebuilt(hashes, size: slots.count * 2) }
}

/// The slots of the open-addressing tables here (``SubsetTable``, ``SharedLabels``, ``LabelAnswers``): entry numbers
/// by hash, -1 where empty, probed linearly.
enum HashSlots {
    /// `size` slots (a power of two, more than the entries) holding entry `i` at the first free slot from `hashes[i]`.
    static func rebuilt(_ hashes: some Sequence<Int>, size: Int) -> [Int32] {
        var slots = [Int32](repeating: -1, count: size)
        let mask = size - 1
        for (entry, hash) in hashes.enumerated() {
            var slot = hash & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry)
        }
        return slots
    }
}

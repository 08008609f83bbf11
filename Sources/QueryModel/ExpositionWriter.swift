import NIOCore

/// Appends exposition text to a byte buffer as ``PrometheusText`` writes it, without a `String` or label array per
/// sample: the fast path of `/metrics` (``ExpositionCache``), which renders ~300 000 samples a scrape.
///
/// Its output must stay byte for byte ``PrometheusText``'s (the reference writer, kept for the PromQL path and as
/// the oracle of `ExpositionWriterTests`): values formatted as ``PrometheusText/format(_:)`` formats them, label
/// values escaped the same way, non-finite values skipped. The text is a `ByteBuffer`, so a block kept by the cache
/// is sent as it is, without a copy per scrape.
struct ExpositionWriter {
    /// The text so far.
    private(set) var buffer: ByteBuffer
    /// Texts of non-integral values formatted lately (see ``ValueTexts``).
    private var texts = ValueTexts()

    /// An empty writer with room for `capacity` bytes.
    init(capacity: Int = 0) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// The text so far as an array.
    var bytes: [UInt8] { Array(buffer.readableBytesView) }

    /// Appends UTF-8 text as it is.
    mutating func append(_ s: String) {
        buffer.writeString(s)
    }

    /// Appends bytes.
    mutating func append(_ b: [UInt8]) {
        buffer.writeBytes(b)
    }

    /// Appends bytes.
    mutating func append(_ b: ArraySlice<UInt8>) {
        buffer.writeBytes(b)
    }

    /// Appends bytes.
    mutating func append(_ b: UnsafeBufferPointer<UInt8>) {
        buffer.writeBytes(UnsafeRawBufferPointer(b))
    }

    /// Appends another buffer's readable bytes.
    mutating func append(_ b: ByteBuffer) {
        buffer.writeImmutableBuffer(b)
    }

    /// Appends one byte.
    mutating func append(ascii b: UInt8) {
        buffer.writeInteger(b)
    }

    /// A family's HELP and TYPE lines, as ``PrometheusText/family(_:type:help:)`` writes them.
    mutating func family(_ name: String, type: String, help: String) {
        append("# HELP ")
        append(name)
        append(ascii: UInt8(ascii: " "))
        append(PrometheusText.escapeHelp(help))
        append("\n# TYPE ")
        append(name)
        append(ascii: UInt8(ascii: " "))
        append(type)
        append(ascii: UInt8(ascii: "\n"))
    }

    /// `name="value"` with the value escaped as the format requires.
    mutating func label(_ name: String, _ value: String) {
        append(name)
        append(ascii: UInt8(ascii: "="))
        append(ascii: UInt8(ascii: "\""))
        appendEscaped(value)
        append(ascii: UInt8(ascii: "\""))
    }

    /// Three labels of a series key (`a="…",b="…",c="…"`), separated by commas.
    mutating func labels(_ first: (String, String), _ second: (String, String), _ third: (String, String)) {
        label(first.0, first.1)
        append(ascii: UInt8(ascii: ","))
        label(second.0, second.1)
        append(ascii: UInt8(ascii: ","))
        label(third.0, third.1)
    }

    /// A label value with `\`, `"` and newline escaped; the whole value at once when it has none of them.
    mutating func appendEscaped(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            guard utf8.contains(where: Self.needsEscape) else {
                buffer.writeBytes(UnsafeRawBufferPointer(utf8))
                return
            }
            for b in utf8 {
                switch b {
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                default: buffer.writeInteger(b)
                }
            }
        }
    }

    private static func needsEscape(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "\\") || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\n")
    }

    /// `" value\n"`, ending a sample line whose name and labels are written; the caller skips non-finite values.
    mutating func endLine(_ value: Double) {
        append(ascii: UInt8(ascii: " "))
        appendValue(value)
        append(ascii: UInt8(ascii: "\n"))
    }

    /// A sample line: `name`, then `labels` (the bytes between the braces, already escaped; none when empty), then
    /// the value; nothing when the value is not finite.
    ///
    /// The line is written through one pointer into room made once: a scrape writes ~300 000 of them, and a
    /// `ByteBuffer` write per piece (its capacity and uniqueness checks) was a good part of rendering.
    mutating func sample(_ name: [UInt8], labels: ArraySlice<UInt8>, _ more: [UInt8] = [], _ value: Double) {
        labels.withUnsafeBufferPointer { sample(name, labels: $0, more, value) }
    }

    /// ``sample(_:labels:_:_:)`` with the labels in memory the caller holds (a ``SeriesOrder``'s).
    mutating func sample(_ name: [UInt8], labels: UnsafeBufferPointer<UInt8>, _ more: [UInt8] = [], _ value: Double) {
        guard value.isFinite else { return }
        let room = name.count + labels.count + more.count + 2 + ValueTexts.width
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { out in
            let start = out.baseAddress!
            var p = start
            func copy(_ bytes: UnsafeBufferPointer<UInt8>) {
                guard let base = bytes.baseAddress else { return }
                p.copyMemory(from: base, byteCount: bytes.count)
                p += bytes.count
            }
            name.withUnsafeBufferPointer(copy)
            copy(labels)
            more.withUnsafeBufferPointer(copy)
            p.storeBytes(of: UInt8(ascii: " "), as: UInt8.self)
            p += 1
            p += texts.write(value, to: p)
            p.storeBytes(of: UInt8(ascii: "\n"), as: UInt8.self)
            return p - start + 1
        }
    }

    /// A value as ``PrometheusText/format(_:)`` writes it: integral values below 10¹⁵ as integers, others as
    /// Swift's shortest round-trip `description` (``ValueTexts/write(_:to:)``).
    mutating func appendValue(_ v: Double) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: ValueTexts.width) { texts.write(v, to: $0.baseAddress!) }
    }
}

/// The texts of the non-integral values formatted lately, by bit pattern: at 10 000 series most values of a scrape
/// repeat (a latency is a sketch bucket's representative, a rate a count over the window), and looking one up costs
/// less than formatting it. A table of fixed size, each value in the slot of its hash; a value is always formatted
/// the same, so a hit is the text formatting would give.
struct ValueTexts {
    private static let slots = 4096
    static let width = 24  // the longest `Double.description`: "-2.2250738585072014e-308"
    // Allocated at the first value: a writer of labels only never needs them.
    private var keys: [UInt64] = []
    private var lengths: [UInt8] = []
    private var texts: [UInt8] = []

    /// Writes a finite `v` at `p` as ``ExpositionWriter/appendValue(_:)`` appends it (at most ``width`` bytes) and
    /// returns how many bytes it wrote.
    mutating func write(_ v: Double, to p: UnsafeMutableRawPointer) -> Int {
        if v == v.rounded(), abs(v) < 1e15 {
            let n = Int64(v)
            var m = n.magnitude
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: 10¹⁵ has 16 digits
            return withUnsafeMutableBytes(of: &digits) { d in
                var i = d.count
                repeat {
                    i -= 1
                    d[i] = UInt8(ascii: "0") + UInt8(m % 10)
                    m /= 10
                } while m > 0
                if n < 0 {
                    i -= 1
                    d[i] = UInt8(ascii: "-")
                }
                let length = d.count - i
                p.copyMemory(from: d.baseAddress! + i, byteCount: length)
                return length
            }
        }
        if keys.isEmpty { allocate() }
        let bits = v.bitPattern
        let slot = Int(truncatingIfNeeded: (bits &* 0x9E37_79B9_7F4A_7C15) >> 52)
        let start = slot * Self.width
        let length = Int(lengths[slot])
        if length > 0, keys[slot] == bits {
            texts.withUnsafeBytes { p.copyMemory(from: $0.baseAddress! + start, byteCount: length) }
            return length
        }
        // Interpolation writes a `Double` as its `description` (``PrometheusText/format(_:)``).
        var text = v.description
        return text.withUTF8 { utf8 in
            precondition(utf8.count <= Self.width, "a Double's description is at most \(Self.width) bytes")
            p.copyMemory(from: utf8.baseAddress!, byteCount: utf8.count)
            keys[slot] = bits
            lengths[slot] = UInt8(utf8.count)
            texts.withUnsafeMutableBufferPointer { t in
                for (i, b) in utf8.enumerated() { t[start + i] = b }
            }
            return utf8.count
        }
    }

    private mutating func allocate() {
        keys = [UInt64](repeating: 0, count: Self.slots)
        lengths = [UInt8](repeating: 0, count: Self.slots)
        texts = [UInt8](repeating: 0, count: Self.slots * Self.width)
    }
}

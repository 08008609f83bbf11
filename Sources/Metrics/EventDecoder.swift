/// Decodes schema-v1 event lines (SPEC §3, §4) from raw bytes into ``Event``s.
///
/// This is the hot path of ingest. It scans bytes with ``JSONScanner`` instead of using `JSONDecoder`,
/// which would allocate a `String` per key, a dictionary or `Codable` container per line, and could
/// not report which field was wrong the way senders need. Keys are matched as bytes against a
/// ``KeyTable``; values of unknown fields are validated and skipped without being materialised; a
/// `String` is created only for the values the event keeps.
public struct EventDecoder: Sendable {
    /// The limits and aliases in use.
    public let configuration: Configuration
    /// Default keys plus configured aliases.
    let keyTable: KeyTable
    /// Identity strings seen by ``decodeBatch(_:nowMs:)``, shared by every copy of this decoder.
    public let identities = IdentityStrings()

    /// Creates a decoder; the alias table is built once here, not per line.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        self.keyTable = KeyTable(aliases: configuration.aliases)
    }

    /// The value found for one schema field while scanning a line.
    struct Slot {
        /// Where the value is.
        var value = JSONValue(kind: .null, start: 0, end: 0)
        /// Index of the matched key in ``KeyTable/keys``; -1 when the line had no key for this field.
        var key: Int32 = -1
        /// The matched key's priority (lower wins).
        var priority: UInt8 = .max
    }

    /// Decodes one line (no trailing newline; a trailing `\r` is allowed and ignored).
    ///
    /// `nowMs` is the arrival time: it is the event time when the line has no timestamp, and the
    /// reference for the maximum age and future checks.
    public func decode(_ line: UnsafeRawBufferPointer, nowMs: Int64) throws(EventDecodingError) -> Event {
        try decode(line, nowMs: nowMs, identities: nil)
    }

    /// Decodes one line, taking identity strings from `identities` when given.
    func decode(
        _ line: UnsafeRawBufferPointer, nowMs: Int64, identities: IdentityStrings.Batch?
    ) throws(EventDecodingError) -> Event {
        var count = line.count
        if count > 0 && line[count - 1] == 0x0D { count -= 1 }
        guard count <= configuration.maxLineBytes else {
            throw EventDecodingError(reason: "line exceeds \(configuration.maxLineBytes) bytes")
        }
        guard count > 0, let raw = line.baseAddress else { throw EventDecodingError(reason: "empty line") }
        var scanner = JSONScanner(base: raw.assumingMemoryBound(to: UInt8.self), count: count)
        // The slots live on the stack: one line must not cost a heap allocation for bookkeeping.
        return try withUnsafeTemporaryAllocation(of: Slot.self, capacity: FieldKey.Field.count) {
            (slots) throws(EventDecodingError) -> Event in
            slots.initialize(repeating: Slot())
            try scanObject(&scanner, into: slots)
            let reader = FieldReader(
                scanner: scanner, slots: UnsafeBufferPointer(slots), keys: keyTable, identities: identities)
            return try makeEvent(reader, nowMs: nowMs)
        }
    }

    /// Scans the line's top-level object, recording known fields in `slots` and validating the rest.
    private func scanObject(
        _ scanner: inout JSONScanner,
        into slots: UnsafeMutableBufferPointer<Slot>
    ) throws(EventDecodingError) {
        scanner.skipWhitespace()
        guard let first = scanner.current else { throw EventDecodingError(reason: "empty line") }
        guard first == UInt8(ascii: "{") else { throw notAnObject(scanner) }
        scanner.pos += 1
        scanner.skipWhitespace()
        if scanner.current == UInt8(ascii: "}") {
            scanner.pos += 1
        } else {
            while true {
                guard scanner.current == UInt8(ascii: "\"") else { throw scanner.unexpected("a string key") }
                let key = try scanner.scanString()
                let index: Int?
                if key.hasEscapes {
                    index = scanner.unescapedBytes(key).withUnsafeBufferPointer { bytes in
                        bytes.isEmpty ? nil : keyTable.lookup(bytes.baseAddress!, bytes.count)
                    }
                } else {
                    index = keyTable.lookup(scanner.base + key.start, key.end - key.start)
                }
                scanner.skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"), "':'")
                scanner.skipWhitespace()
                if let index {
                    let value = try scanner.scanValue()
                    let known = keyTable.keys[index]
                    let slot = known.field.rawValue
                    // Canonical names beat aliases whatever their order; among equals the last one wins.
                    if known.priority <= slots[slot].priority {
                        slots[slot] = Slot(value: value, key: Int32(index), priority: known.priority)
                    }
                } else {
                    try scanner.skipValue()
                }
                scanner.skipWhitespace()
                guard let next = scanner.current else { throw scanner.unexpected("',' or '}'") }
                if next == UInt8(ascii: ",") {
                    scanner.pos += 1
                    scanner.skipWhitespace()
                } else if next == UInt8(ascii: "}") {
                    scanner.pos += 1
                    break
                } else {
                    throw scanner.unexpected("',' or '}'")
                }
            }
        }
        scanner.skipWhitespace()
        guard scanner.pos == scanner.end else {
            throw .syntax(at: scanner.pos, "unexpected data after the object (one JSON object per line)")
        }
    }

    /// The error for a line whose first value is not an object.
    private func notAnObject(_ scanner: JSONScanner) -> EventDecodingError {
        guard let first = scanner.current else { return scanner.unexpected("'{'") }
        let found: String
        switch first {
        case UInt8(ascii: "["): found = "an array"
        case UInt8(ascii: "\""): found = "a string"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): found = "a number"
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): found = "a literal"
        default: return scanner.unexpected("'{'")
        }
        return EventDecodingError(reason: "expected a JSON object, found \(found)")
    }
}

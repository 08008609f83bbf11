/// Typed access to the fields found in one scanned line, producing the per-field error texts of SPEC §4.
struct FieldReader {
    /// The scanner that located the values (its bytes stay valid while decoding the line).
    let scanner: JSONScanner
    /// One slot per ``FieldKey/Field``.
    let slots: UnsafeBufferPointer<EventDecoder.Slot>
    /// The key table, to name fields in errors as the line spelled them.
    let keys: KeyTable
    /// Where identity strings come from in a batch (nil: made per line).
    let identities: IdentityStrings.Batch?

    typealias Field = FieldKey.Field

    /// The value for `field`, treating JSON `null` as absent.
    @inline(__always)
    func value(_ field: Field) -> JSONValue? {
        let slot = slots[field.rawValue]
        guard slot.key >= 0, slot.value.kind != .null else { return nil }
        return slot.value
    }

    /// Whether the line has a non-null value for `field`.
    func has(_ field: Field) -> Bool { value(field) != nil }

    /// The key that supplied `field`, as spelled in the line; `fallback` when the field is absent.
    func name(_ field: Field, fallback: String) -> String {
        let key = slots[field.rawValue].key
        return key >= 0 ? keys.keys[Int(key)].name : fallback
    }

    /// An error about `field`, named as the line spelled it.
    func error(_ field: Field, _ reason: String, fallback: String = "") -> EventDecodingError {
        EventDecodingError(field: name(field, fallback: fallback), reason: reason)
    }

    /// An error for a field that `kind` requires but the line lacks.
    func missing(_ canonical: String, for kind: EventKind) -> EventDecodingError {
        EventDecodingError(field: canonical, reason: "missing (required for kind \(kind.rawString))")
    }

    /// Calls `body` with the unescaped bytes of a string value.
    func withBytes<R>(_ value: JSONValue, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        guard value.hasEscapes else { return body(scanner.bytes(of: value)) }
        return scanner.unescapedBytes(value).withUnsafeBufferPointer(body)
    }

    /// An optional string field; a non-string value is an error.
    func optionalString(_ field: Field) throws(EventDecodingError) -> String? {
        guard let value = value(field) else { return nil }
        guard value.kind == .string else { throw error(field, "expected string") }
        return scanner.string(value)
    }

    /// A required non-empty string field of `kind`, checked as an identity field.
    func requiredString(_ field: Field, _ canonical: String, for kind: EventKind) throws(EventDecodingError) -> String {
        guard let value = value(field) else { throw missing(canonical, for: kind) }
        guard value.kind == .string, value.end > value.start else {
            throw error(field, "expected non-empty string")
        }
        return try identity(field, scanner.string(value))
    }

    /// Longest identity field in bytes (SPEC §4).
    static let maxIdentityBytes = 256

    /// The string value of an identity field: the batch's shared string when it has one (see ``IdentityStrings``).
    func identityString(_ value: JSONValue) -> String {
        guard let identities, !value.hasEscapes else { return scanner.string(value) }
        return identities.string(UnsafeRawBufferPointer(scanner.bytes(of: value)))
    }

    /// `text` when it may be an identity field (SPEC §4): at most 256 bytes, no control characters.
    ///
    /// Identity fields become keys in every store, and a store that refuses one (PostgreSQL refuses NUL in
    /// `text`) would refuse the whole flush that carries it, so they are checked here, at the door.
    func identity(_ field: Field, _ text: String, fallback: String = "") throws(EventDecodingError) -> String {
        if let reason = Self.identityProblem(text) { throw error(field, reason, fallback: fallback) }
        return text
    }

    /// Why `text` cannot be an identity field, or nil when it can.
    static func identityProblem(_ text: String) -> String? {
        let utf8 = text.utf8
        if utf8.count > maxIdentityBytes { return "longer than \(maxIdentityBytes) bytes" }
        // The scanner already refuses raw controls in strings, but not escaped ones (`\u0000`) nor a raw DEL.
        // Three identity fields per event are checked: a branch-free pass over the bytes first (it vectorises),
        // the search for the culprit only when there is one.
        let clean =
            utf8.withContiguousStorageIfAvailable { bytes in
                var controls = 0
                for b in bytes { controls &+= (b < 0x20 ? 1 : 0) &+ (b == 0x7F ? 1 : 0) }
                return controls == 0
            } ?? false
        if !clean, let bad = utf8.first(where: { $0 < 0x20 || $0 == 0x7F }) {
            let hex = String(bad, radix: 16, uppercase: true)
            return "control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex) not allowed"
        }
        return nil
    }

    /// A required identifier of `kind` given as a non-empty string or a number (kept as its literal text), checked
    /// as an identity field.
    func requiredIdentifier(
        _ field: Field,
        _ canonical: String,
        for kind: EventKind,
        integerOnly: Bool
    ) throws(EventDecodingError) -> String {
        guard let value = value(field) else { throw missing(canonical, for: kind) }
        switch value.kind {
        case .string where value.end > value.start:
            return try identity(field, scanner.string(value))
        case .number where !integerOnly || value.isInteger:
            return try identity(field, scanner.string(value))
        default:
            throw error(field, integerOnly ? "expected string or integer" : "expected string or number")
        }
    }

    /// Whether the string `value` equals `word` after unescaping.
    func equals(_ value: JSONValue, _ word: StaticString) -> Bool {
        withBytes(value) { bytes in
            bytes.count == word.utf8CodeUnitCount
                && bytes.elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
        }
    }

    /// A duration field converted to milliseconds according to the unit of the key that supplied it.
    func duration() throws(EventDecodingError) -> Double? {
        guard let value = value(.duration) else { return nil }
        let unit = keys.keys[Int(slots[Field.duration.rawValue].key)].unit
        var ms: Double?
        switch (value.kind, unit) {
        case (.number, .milliseconds), (.number, .goDuration):
            ms = scanner.double(value)
        case (.number, .seconds):
            ms = scanner.double(value) * 1000
        case (.string, .goDuration):
            ms = withBytes(value) { DurationParser.milliseconds($0) }
        default:
            ms = nil
        }
        guard let ms, ms.isFinite, ms >= 0 else {
            let expected =
                unit == .goDuration ? "expected number >= 0 or duration string like \"350ms\"" : "expected number >= 0"
            throw error(.duration, expected)
        }
        return ms
    }
}

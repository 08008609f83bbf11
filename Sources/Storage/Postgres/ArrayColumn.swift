import NIOCore
import OpsightMetrics
import PostgresNIO

/// One column of an `INSERT … SELECT … FROM unnest(…)`, written in PostgreSQL's binary array format as the rows
/// are visited, bound as one parameter (`\(column)::int8[]`).
///
/// Hand-written rather than postgres-nio's encoding of `[Int64]`, `[String]` and `[ByteBuffer]`: that needs each column
/// gathered into an array first (a retained `String` per label, an array and a `ByteBuffer` per sketch), then encodes
/// every element through a generic call that writes a length placeholder and patches it afterwards. A shipment of the
/// last hour sends ~500 000 minute cells through these inserts, and that was ~5 % of the collector's CPU (perf,
/// docs/benchmarks.md). Here each element goes straight into the column's bytes; binding copies them once.
///
/// The format (PostgreSQL's `array_send`): dimensions (0 for an empty array, else 1), a has-nulls flag (0: no element
/// is ever null here), the element type's OID, then for the one dimension its length and lower bound (1), then each
/// element as a 4-byte length and its binary form.
struct ArrayColumn: PostgresDynamicTypeEncodable {
    let psqlType: PostgresDataType
    var psqlFormat: PostgresFormat { .binary }
    private let element: PostgresDataType
    private var elements: ByteBuffer
    private(set) var count: Int32 = 0

    private init(_ type: PostgresDataType, element: PostgresDataType, bytes: Int) {
        psqlType = type
        self.element = element
        elements = ByteBufferAllocator().buffer(capacity: bytes)
    }

    /// A `bigint[]` column with room for `rows` elements.
    static func int8(rows: Int) -> ArrayColumn { ArrayColumn(.int8Array, element: .int8, bytes: rows * 12) }
    /// A `text[]` column with room for `rows` elements of about `bytesPerRow` bytes.
    static func text(rows: Int, bytesPerRow: Int = 16) -> ArrayColumn {
        ArrayColumn(.textArray, element: .text, bytes: rows * (4 + bytesPerRow))
    }
    /// A `bytea[]` column with room for `rows` elements of about `bytesPerRow` bytes.
    static func bytea(rows: Int, bytesPerRow: Int = 32) -> ArrayColumn {
        ArrayColumn(.byteaArray, element: .bytea, bytes: rows * (4 + bytesPerRow))
    }

    /// Appends a `bigint`.
    mutating func append(_ value: Int64) {
        precondition(element == .int8, "array column: a bigint in a \(element) column")
        elements.writeWithUnsafeMutableBytes(minimumWritableBytes: 12) { raw in
            raw.storeBytes(of: Int32(8).bigEndian, as: Int32.self)
            raw.storeBytes(of: value.bigEndian, toByteOffset: 4, as: Int64.self)
            return 12
        }
        count += 1
    }

    /// Appends a `bigint` from an unsigned count (counts stay far below `Int64.max`; one past it is clamped rather
    /// than trapped on).
    mutating func append(_ value: UInt64) { append(Int64(clamping: value)) }

    /// Appends a `text` (its UTF-8 bytes).
    mutating func append(_ value: String) {
        precondition(element == .text, "array column: a text in a \(element) column")
        var value = value
        value.withUTF8 { utf8 in
            // Through the buffer's memory in one call: `writeInteger` and `writeBytes` each checked and entered the
            // storage again (perf: a third of this column's cost).
            elements.writeWithUnsafeMutableBytes(minimumWritableBytes: 4 + utf8.count) { raw in
                raw.storeBytes(of: Int32(utf8.count).bigEndian, as: Int32.self)
                if let base = utf8.baseAddress {
                    (raw.baseAddress.unsafelyUnwrapped + 4).copyMemory(from: base, byteCount: utf8.count)
                }
                return 4 + utf8.count
            }
        }
        count += 1
    }

    /// Appends a `bytea` holding `sketch`'s ``LogSketch/encoded()`` bytes, encoded in place; with `emptyAsNothing`,
    /// an empty sketch is an empty `bytea` (no sketch stored).
    mutating func append(sketch: LogSketch, emptyAsNothing: Bool = false) {
        precondition(element == .bytea, "array column: a sketch in a \(element) column")
        if emptyAsNothing, sketch.isEmpty {
            elements.writeInteger(Int32(0))
        } else {
            let bound = sketch.encodedBound
            elements.writeWithUnsafeMutableBytes(minimumWritableBytes: 4 + bound) { raw in
                let n = sketch.encode(into: UnsafeMutableRawBufferPointer(rebasing: raw[4...]))
                raw.storeBytes(of: Int32(n).bigEndian, as: Int32.self)
                return 4 + n
            }
        }
        count += 1
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeMultipleIntegers(Int32(count == 0 ? 0 : 1), Int32(0), element.rawValue)
        guard count > 0 else { return }
        buffer.writeMultipleIntegers(count, Int32(1))
        buffer.writeImmutableBuffer(elements)
    }
}

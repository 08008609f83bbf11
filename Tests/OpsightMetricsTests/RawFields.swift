@testable import OpsightMetrics

/// The top-level members of a line as read by the collector's own ``JSONScanner``: strings unescaped,
/// other values as their JSON text. Used to check extra fields, which ``Event`` does not keep.
///
/// Foundation's `JSONSerialization` is no oracle here: it drops U+FEFF inside strings.
func rawFields(_ line: String) throws -> [String: String] {
    let bytes = Array(line.utf8)
    return try bytes.withUnsafeBufferPointer { buffer -> [String: String] in
        var scanner = JSONScanner(base: buffer.baseAddress!, count: buffer.count)
        var fields: [String: String] = [:]
        try scanner.expect(UInt8(ascii: "{"), "'{'")
        while scanner.current == UInt8(ascii: "\"") {
            let key = scanner.string(try scanner.scanString())
            try scanner.expect(UInt8(ascii: ":"), "':'")
            let value = try scanner.scanValue()
            fields[key] =
                value.kind == .string
                ? scanner.string(value)
                : String(decoding: UnsafeBufferPointer(rebasing: buffer[value.start..<value.end]), as: UTF8.self)
            if scanner.current == UInt8(ascii: ",") { scanner.pos += 1 }
        }
        try scanner.expect(UInt8(ascii: "}"), "'}'")
        return fields
    }
}

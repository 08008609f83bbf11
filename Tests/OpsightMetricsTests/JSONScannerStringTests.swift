import Foundation
import Testing

@testable import OpsightMetrics

/// ``JSONScanner/scanString()`` reads eight bytes at a time and jumps to the first special byte of a word: every
/// special byte at every offset of a word, after plain runs of every length, must end, escape or fail the string
/// exactly where a byte-by-byte reading would.
@Suite struct JSONScannerStringTests {
    /// What may follow a plain run: the end of the string, escapes, control characters, UTF-8 good and bad.
    static let specials: [[UInt8]] = [
        Array(#"""#.utf8), Array(#"\""#.utf8), Array(#"\\"#.utf8), Array(#"\n"#.utf8), Array(#"\u00e9"#.utf8),
        Array(#"\ud83d\ude00"#.utf8), Array(#"\x"#.utf8), [0x01], [0x1F], [0x00], [0x7F], Array("é".utf8),
        Array("😀".utf8), Array("€".utf8), [0x80], [0xC3, 0x41], [0xED, 0xA0, 0x80], [0xFF], [0xF4, 0x90, 0x80, 0x80],
    ]

    /// The string's value and the byte after it as the scanner reads them, or nil when it refuses the string.
    static func scan(_ literal: [UInt8]) -> (value: String, next: UInt8?)? {
        // A trailing member after the string, so a string that runs past its quote is seen.
        let line = literal + Array(#",1]"#.utf8)
        return line.withUnsafeBufferPointer { buffer -> (String, UInt8?)? in
            var scanner = JSONScanner(base: buffer.baseAddress!, count: buffer.count)
            guard let value = try? scanner.scanString() else { return nil }
            return (scanner.string(value), scanner.current)
        }
    }

    @Test func everySpecialByteAtEveryOffsetIsReadAsAByteByByteReaderWould() throws {
        var checked = 0
        for prefix in 0...24 {
            for special in Self.specials {
                for suffix in [0, 1, 7, 8, 9] {
                    let plain = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
                    let content = Array(plain.prefix(prefix)) + special + Array(plain.prefix(suffix))
                    let literal = [UInt8(ascii: "\"")] + content + [UInt8(ascii: "\"")]
                    // The oracle: Foundation's parser over the same string as the only element of an array.
                    let expected =
                        (try? JSONSerialization.jsonObject(
                            with: Data([UInt8(ascii: "[")] + literal + [UInt8(ascii: "]")])) as? [String])?.first
                    let got = Self.scan(literal)
                    let shown = String(decoding: literal, as: UTF8.self).debugDescription
                    if special == Array(#"""#.utf8) {
                        // The quote ends the string after the prefix; the rest is not the string's.
                        #expect(got?.value == String(decoding: plain.prefix(prefix), as: UTF8.self), "\(shown)")
                        #expect(got?.next == content.dropFirst(prefix + 1).first ?? UInt8(ascii: "\""), "\(shown)")
                    } else {
                        #expect(got?.value == expected, "\(shown)")
                        if got != nil { #expect(got?.next == UInt8(ascii: ","), "\(shown)") }
                    }
                    checked += 1
                }
            }
        }
        #expect(checked == 25 * Self.specials.count * 5)
    }

    @Test func aStringRunningToTheEndOfTheLineIsUnterminatedWhateverItsLength() {
        for length in 0...24 {
            let literal = [UInt8(ascii: "\"")] + Array(repeating: UInt8(ascii: "a"), count: length)
            let refused = literal.withUnsafeBufferPointer { buffer -> Bool in
                var scanner = JSONScanner(base: buffer.baseAddress!, count: buffer.count)
                return (try? scanner.scanString()) == nil
            }
            #expect(refused, "length \(length)")
        }
    }
}

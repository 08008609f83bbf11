/// Go's float formatting, as Prometheus prints sample values.
public enum FloatFormat: Sendable {
    /// The value as the Prometheus HTTP API writes it: `"NaN"`, `"+Inf"`, `"-Inf"`, shortest
    /// round-trip digits, in exponent form (`1e-07`, `1.5e+21`) only below 1e-6 or from 1e21.
    public static func prometheus(_ value: Double) -> String {
        var out: [UInt8] = []
        appendPrometheus(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// ``prometheus(_:)`` appended to `out` as UTF-8, with nothing allocated but what `out` grows by (except for
    /// values whose shortest digits are over 15 characters): a range query's answer is a value per point, and
    /// formatting each through strings cost more than evaluating the query once its steps were kept.
    public static func appendPrometheus(_ value: Double, to out: inout [UInt8]) {
        let magnitude = value.magnitude
        append(value, exponential: magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21), to: &out)
    }

    /// Go's `strconv.FormatFloat(value, 'f', -1, 64)`: shortest round-trip digits, no exponent.
    public static func fixed(_ value: Double) -> String {
        var out: [UInt8] = []
        append(value, exponential: false, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Go's `strconv.FormatFloat(value, 'e', -1, 64)`, e.g. `1e-07`, `1.5e+21`.
    public static func exponent(_ value: Double) -> String {
        var out: [UInt8] = []
        append(value, exponential: true, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Go's `'e'` (`exponential`) or `'f'` form with the shortest round-trip digits, appended to `out` as UTF-8;
    /// `NaN`, `+Inf`, `-Inf` for the non-finite.
    private static func append(_ value: Double, exponential: Bool, to out: inout [UInt8]) {
        if value.isNaN { return out.append(contentsOf: "NaN".utf8) }
        if value.isInfinite { return out.append(contentsOf: (value < 0 ? "-Inf" : "+Inf").utf8) }
        if value.sign == .minus { out.append(UInt8(ascii: "-")) }
        let zero = UInt8(ascii: "0")
        withDigits(value.magnitude) { digits, point in
            let isZero = digits.count == 1 && digits[0] == zero
            if exponential {
                // d[.ddd]e±XX, at least two exponent digits.
                let exponent = isZero ? 0 : point - 1
                out.append(digits[0])
                if digits.count > 1 {
                    out.append(UInt8(ascii: "."))
                    out.append(contentsOf: digits[1...])
                }
                out.append(UInt8(ascii: "e"))
                out.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
                let e = exponent.magnitude
                if e >= 100 { out.append(zero + UInt8(e / 100)) }
                out.append(zero + UInt8(e / 10 % 10))
                out.append(zero + UInt8(e % 10))
            } else if isZero {
                out.append(zero)
            } else if point <= 0 {
                out.append(zero)
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: repeatElement(zero, count: -point))
                out.append(contentsOf: digits)
            } else if point >= digits.count {
                out.append(contentsOf: digits)
                out.append(contentsOf: repeatElement(zero, count: point - digits.count))
            } else {
                out.append(contentsOf: digits[..<point])
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[point...])
            }
        }
    }

    /// Sign, shortest significant digits (no leading or trailing zeros; "0" for zero) and the number
    /// of digits before the decimal point, from Swift's shortest round-trip `description`. Shared with the
    /// alerting templates' Go formatting.
    public static func decompose(_ value: Double) -> (sign: String, digits: String, point: Int) {
        let sign = value.sign == .minus ? "-" : ""
        return withDigits(value.magnitude) { digits, point in (sign, String(decoding: digits, as: UTF8.self), point) }
    }

    /// `body` of the shortest significant digits of `magnitude` (≥ 0, finite; no leading or trailing zeros, "0" for
    /// zero) and the number of digits before the decimal point, from Swift's shortest round-trip `description`.
    @inline(__always)
    static func withDigits<R>(_ magnitude: Double, _ body: (UnsafeBufferPointer<UInt8>, Int) -> R) -> R {
        // `description` is digits with at most one point, then perhaps `e`, a sign and the exponent's digits
        // ("123.45", "1.2e-07", "1e+21", "5e-324"). Read byte by byte: splitting and replacing through the
        // generic string algorithms was a quarter of a range query's answer (a float per point).
        var text = magnitude.description
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { buffer in
            var count = 0
            var point = 0
            var seenPoint = false
            var inExponent = false
            var exponent = 0
            var exponentSign = 1
            text.withUTF8 { bytes in
                for byte in bytes {
                    if inExponent {
                        switch byte {
                        case UInt8(ascii: "-"): exponentSign = -1
                        case UInt8(ascii: "0")...UInt8(ascii: "9"):
                            exponent = exponent * 10 + Int(byte - UInt8(ascii: "0"))
                        default: break
                        }
                        continue
                    }
                    switch byte {
                    case UInt8(ascii: "."): seenPoint = true
                    case UInt8(ascii: "e"), UInt8(ascii: "E"): inExponent = true
                    default:
                        guard count < buffer.count else { break }
                        buffer[count] = byte
                        count += 1
                        if !seenPoint { point += 1 }
                    }
                }
            }
            point += exponentSign * exponent
            var start = 0
            while start < count - 1 && buffer[start] == UInt8(ascii: "0") {
                start += 1
                point -= 1
            }
            var end = count
            while end - start > 1 && buffer[end - 1] == UInt8(ascii: "0") { end -= 1 }
            return body(UnsafeBufferPointer(rebasing: buffer[start..<end]), point)
        }
    }
}

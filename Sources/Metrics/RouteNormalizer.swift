/// Turns a concrete request path into a route template, so `/users/42` and `/users/43` share a series.
///
/// The query string and fragment are dropped, a leading `scheme://host` is dropped, and path segments
/// that look like identifiers — all digits, a UUID (8-4-4-4-12 hex digits) or 16 or more hex digits —
/// become `:id`. Empty segments (`//`) and a trailing slash are removed; an empty result is `/`.
public enum RouteNormalizer {
    /// The template of `path`, e.g. `/api/v1/assessments/:id` for `/api/v1/assessments/42?full=1`.
    public static func normalize(_ path: String) -> String {
        var path = path
        return path.withUTF8 { normalize($0) }
    }

    /// The template of the UTF-8 path in `path`.
    static func normalize(_ path: UnsafeBufferPointer<UInt8>) -> String {
        var end = path.count
        for i in 0..<path.count where path[i] == UInt8(ascii: "?") || path[i] == UInt8(ascii: "#") {
            end = i
            break
        }
        let start = schemeAndHostLength(path, end: end)
        // Each segment of n ≥ 1 bytes becomes at most max(n, 3) bytes plus its slash.
        let capacity = 3 * (end - start) + 1
        return String(unsafeUninitializedCapacity: capacity) { out in
            var n = 0
            var i = start
            while i < end {
                while i < end && path[i] == UInt8(ascii: "/") { i += 1 }
                guard i < end else { break }
                let segmentStart = i
                while i < end && path[i] != UInt8(ascii: "/") { i += 1 }
                out[n] = UInt8(ascii: "/")
                n += 1
                let segment = UnsafeBufferPointer(rebasing: path[segmentStart..<i])
                if isIdentifier(segment) {
                    out[n] = UInt8(ascii: ":")
                    out[n + 1] = UInt8(ascii: "i")
                    out[n + 2] = UInt8(ascii: "d")
                    n += 3
                } else {
                    for b in segment {
                        out[n] = b
                        n += 1
                    }
                }
            }
            if n == 0 {
                out[0] = UInt8(ascii: "/")
                n = 1
            }
            return n
        }
    }

    /// The length of a leading `http://host` or `https://host` (without the path), or 0.
    private static func schemeAndHostLength(_ path: UnsafeBufferPointer<UInt8>, end: Int) -> Int {
        guard end > 0, path[0] != UInt8(ascii: "/") else { return 0 }
        var i = 0
        while i < end && (path[i] | 0x20) >= UInt8(ascii: "a") && (path[i] | 0x20) <= UInt8(ascii: "z") { i += 1 }
        guard i > 0, i + 3 <= end, path[i] == UInt8(ascii: ":"), path[i + 1] == UInt8(ascii: "/"),
            path[i + 2] == UInt8(ascii: "/")
        else { return 0 }
        i += 3
        while i < end && path[i] != UInt8(ascii: "/") { i += 1 }
        return i
    }

    /// Whether a segment is an identifier: all digits, a UUID, or 16+ hex digits.
    static func isIdentifier(_ segment: UnsafeBufferPointer<UInt8>) -> Bool {
        if segment.allSatisfy(JSONScanner.isDigit) { return !segment.isEmpty }
        if segment.count == 36 {
            for (i, b) in segment.enumerated() {
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    guard b == UInt8(ascii: "-") else { return false }
                } else {
                    guard JSONScanner.hexValue(b) != nil else { return false }
                }
            }
            return true
        }
        return segment.count >= 16 && segment.allSatisfy { JSONScanner.hexValue($0) != nil }
    }
}

import Foundation

/// Serialises payload objects with sorted keys and unescaped slashes, so bodies are stable and
/// signatures reproducible.
enum JSONPayload {
    /// The JSON bytes of `object` (dictionaries, arrays, strings, numbers).
    static func data(_ object: Any) -> Data {
        // Only property-list-like values built by this module reach here, so serialisation cannot fail.
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}

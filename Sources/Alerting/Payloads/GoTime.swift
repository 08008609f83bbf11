import Foundation

/// Timestamps as Go's `time.Time` marshals them to JSON (RFC 3339 with nanoseconds, trailing
/// zeros dropped, `Z` for UTC).
public enum GoTime {
    /// Go's zero time, which Alertmanager writes as `endsAt` of a firing alert.
    public static let zero = "0001-01-01T00:00:00Z"

    /// `milliseconds` since the epoch as RFC 3339 in UTC, e.g. `2024-05-01T12:00:00.25Z`.
    public static func rfc3339(milliseconds: Int64) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let fraction = milliseconds - seconds * 1000
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        var text = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
            parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
        if fraction != 0 {
            var digits = String(format: "%03lld", fraction)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }
}

/// Renders event times in the forms SPEC §3 accepts, without Foundation's date formatters (whose rounding of
/// milliseconds is not guaranteed): the tests must know the exact millisecond each form denotes.
enum TimeText {
    /// RFC 3339 with milliseconds, in UTC (`Z`) or at a fixed offset from UTC in minutes (`+02:00`).
    static func rfc3339(ms: Int64, offsetMinutes: Int = 0) -> String {
        let local = ms + Int64(offsetMinutes) * 60_000
        let days = floorDiv(local, 86_400_000)
        let msOfDay = local - days * 86_400_000
        let (y, m, d) = civil(fromDays: days)
        let h = msOfDay / 3_600_000
        let mi = msOfDay / 60_000 % 60
        let s = msOfDay / 1000 % 60
        let f = msOfDay % 1000
        let zone: String
        if offsetMinutes == 0 {
            zone = "Z"
        } else {
            let a = abs(offsetMinutes)
            zone = (offsetMinutes < 0 ? "-" : "+") + pad(Int64(a / 60), 2) + ":" + pad(Int64(a % 60), 2)
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).\(pad(f, 3))\(zone)"
    }

    /// Epoch seconds as a JSON number literal with exactly the milliseconds: `1795312800.123` (or `1795312800`).
    static func epochSecondsLiteral(ms: Int64) -> String {
        ms % 1000 == 0 ? "\(ms / 1000)" : "\(ms / 1000).\(pad(ms % 1000, 3))"
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Howard Hinnant's civil_from_days.
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

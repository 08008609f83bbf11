/// Parses event timestamps: RFC 3339 strings and epoch numbers, to unix milliseconds.
enum Timestamp {
    /// Epoch numbers below this are seconds, at or above it milliseconds (1e11 s is in the year 5138).
    static let secondsMillisecondsThreshold: Double = 1e11

    /// Parses `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`; `T` may be `t` or a space, `Z` may be `z`.
    ///
    /// Fractions below a millisecond are truncated. Returns `nil` for anything else, including
    /// impossible dates such as February 30.
    static func parseRFC3339(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard s.count >= 20 else { return nil }
        func digits(_ at: Int, _ count: Int) -> Int? {
            var value = 0
            for i in at..<at + count {
                guard i < s.count, JSONScanner.isDigit(s[i]) else { return nil }
                value = value * 10 + Int(s[i] &- UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = digits(0, 4), s[4] == UInt8(ascii: "-"), let month = digits(5, 2), s[7] == UInt8(ascii: "-"),
            let day = digits(8, 2), s[10] == UInt8(ascii: "T") || s[10] == UInt8(ascii: "t") || s[10] == 0x20,
            let hour = digits(11, 2), s[13] == UInt8(ascii: ":"), let minute = digits(14, 2),
            s[16] == UInt8(ascii: ":"), let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month), hour <= 23,
            minute <= 59, second <= 60
        else { return nil }
        var i = 19
        var millis = 0
        if s[i] == UInt8(ascii: ".") {
            i += 1
            var fractionDigits = 0
            while i < s.count, JSONScanner.isDigit(s[i]) {
                if fractionDigits < 3 { millis = millis * 10 + Int(s[i] &- UInt8(ascii: "0")) }
                fractionDigits += 1
                i += 1
            }
            guard fractionDigits > 0 else { return nil }
            for _ in min(fractionDigits, 3)..<3 { millis *= 10 }
        }
        guard i < s.count else { return nil }
        var offsetSeconds = 0
        switch s[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let oh = digits(i + 1, 2), i + 3 < s.count, s[i + 3] == UInt8(ascii: ":"),
                let om = digits(i + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (s[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == s.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Int64(seconds) * 1000 + Int64(millis)
    }

    /// Converts a validated JSON number literal: seconds when below 1e11, else milliseconds.
    ///
    /// Plain decimal literals are converted digit by digit so `1700000000.123` is exactly
    /// 1700000000123 ms, which floating point would not guarantee.
    static func fromEpoch(_ s: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        let negative = s[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        var whole: Int64 = 0
        var wholeDigits = 0
        while i < s.count, JSONScanner.isDigit(s[i]) {
            whole = whole &* 10 &+ Int64(s[i] &- UInt8(ascii: "0"))
            wholeDigits += 1
            i += 1
        }
        var fraction: Int64 = 0  // the first three fraction digits, in thousandths
        var fractionDigits = 0
        if i < s.count, s[i] == UInt8(ascii: ".") {
            i += 1
            while i < s.count, JSONScanner.isDigit(s[i]) {
                if fractionDigits < 3 { fraction = fraction * 10 + Int64(s[i] &- UInt8(ascii: "0")) }
                fractionDigits += 1
                i += 1
            }
            for _ in min(fractionDigits, 3)..<3 { fraction *= 10 }
        }
        let millis: Int64
        if i < s.count || wholeDigits > 17 {
            // Exponent notation or absurd magnitude: fall back to floating point.
            let value = JSONNumber.parse(s)
            let scaled = abs(value) < secondsMillisecondsThreshold ? (value * 1000).rounded() : value.rounded(.down)
            guard scaled.isFinite, abs(scaled) < 9e15 else { return nil }
            return Int64(scaled)
        } else if Double(whole) < secondsMillisecondsThreshold {
            millis = whole * 1000 + fraction
        } else {
            millis = whole
        }
        return negative ? -millis : millis
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The number of days in `month` of `year`.
    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

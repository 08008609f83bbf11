import Foundation

/// Go's `math` functions where Swift's differ in special cases, so results match Prometheus.
enum GoMath {
    /// `math.Mod`: the remainder with the sign of `x`; NaN for `y == 0` or infinite `x`.
    static func mod(_ x: Double, _ y: Double) -> Double { fmod(x, y) }

    /// `math.Pow`.
    static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }

    /// `math.Max`: +Inf wins over NaN, NaN over anything else, +0 over -0.
    static func max(_ x: Double, _ y: Double) -> Double {
        if x == .infinity || y == .infinity { return .infinity }
        if x.isNaN || y.isNaN { return .nan }
        if x == 0 && x == y { return x.sign == .minus ? y : x }
        return x > y ? x : y
    }

    /// `math.Min`: -Inf wins over NaN, NaN over anything else, -0 over +0.
    static func min(_ x: Double, _ y: Double) -> Double {
        if x == -.infinity || y == -.infinity { return -.infinity }
        if x.isNaN || y.isNaN { return .nan }
        if x == 0 && x == y { return x.sign == .minus ? x : y }
        return x < y ? x : y
    }
}

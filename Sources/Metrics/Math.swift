// The C math library supplies `log`/`exp`/`pow` for the sketch; importing it also links libm, which
// `rounded()` and friends need on Linux when nothing else in the process imports Foundation.
#if canImport(Darwin)
    import Darwin
#elseif canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Thin wrappers so the rest of the module does not need platform-conditional imports.
enum Math {
    /// The natural logarithm.
    @inline(__always)
    static func ln(_ x: Double) -> Double { log(x) }

    /// e raised to `x`.
    @inline(__always)
    static func exponential(_ x: Double) -> Double { exp(x) }
}

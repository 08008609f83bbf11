/// When an expression is evaluated: a time in unix milliseconds, and whether it is the current time.
///
/// The difference matters to sources whose windows sit on a grid: at the current time a window includes
/// everything committed so far, while a past time is read at the grid point at or before it. The caller says
/// which it means; nothing guesses from the clock.
public struct EvaluationTime: Hashable, Sendable {
    /// Unix milliseconds.
    public var milliseconds: Int64
    /// Whether `milliseconds` is the caller's current time.
    public var isNow: Bool

    /// The current time, read by the caller.
    public static func now(_ milliseconds: Int64) -> EvaluationTime {
        EvaluationTime(milliseconds: milliseconds, isNow: true)
    }

    /// A given (past or future) time.
    public static func at(_ milliseconds: Int64) -> EvaluationTime {
        EvaluationTime(milliseconds: milliseconds, isNow: false)
    }
}

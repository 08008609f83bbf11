extension Set where Element == String {
    /// Whether `value` may keep its name under a cardinality limit of `limit` distinct values: it is known, or new
    /// and there is room (then it is remembered); `__other__`, which takes every value past the limit, always may.
    /// The one rule of `RouteGuard` and `IdentityGuard`.
    mutating func admit(_ value: String, limit: Int) -> Bool {
        if value == RouteGuard.otherRoute || contains(value) { return true }
        guard count < limit else { return false }
        insert(value)
        return true
    }
}

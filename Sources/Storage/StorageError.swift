import Collector

/// A failure of a store, wrapping the driver's error at the storage boundary.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// What failed; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }
        /// A store URL cannot be used.
        public static let invalidURL = Code("invalid_url")
        /// Redis failed.
        public static let redis = Code("redis")
        /// PostgreSQL failed.
        public static let postgres = Code("postgres")
        /// The store refused the data itself (a value it cannot keep); sending it again cannot succeed.
        public static let refusedData = Code("refused_data")
        /// Stored data could not be read back.
        public static let corrupt = Code("corrupt")
        /// A write only the lease holder may do was refused: another process holds the lease now.
        public static let fenced = Code("fenced")
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?

    /// Creates the error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "\(code): \(message)" }
}

extension StorageError: StoreFailure {
    /// `redis` or `postgres`.
    public var storeName: String { code == .redis ? "redis" : code == .postgres ? "postgres" : "store" }
    /// Driver failures are outages; unreadable stored data is not.
    public var isOutage: Bool { code == .redis || code == .postgres }
}

extension StorageError: StoreRefusal {
    /// True for ``Code/refusedData``: the flush quarantines the delta instead of retrying it.
    public var refusesData: Bool { code == .refusedData }
}

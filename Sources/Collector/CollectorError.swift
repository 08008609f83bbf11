import Foundation

/// A failure of the collector, with a code callers can switch on and a message that says what to do.
public struct CollectorError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }
        /// Reading or writing the write-ahead log failed.
        public static let walIO = Code("wal_io")
        /// The write-ahead log holds `wal.max_bytes` of data the stores have not taken yet.
        public static let walFull = Code("wal_full")
        /// Another process holds the write-ahead log directory.
        public static let walLocked = Code("wal_locked")
        /// More data waits for the commit thread than it may hold.
        public static let overloaded = Code("overloaded")
        /// A store (Redis or PostgreSQL) failed.
        public static let store = Code("store")
        /// A request or setting is invalid.
        public static let invalid = Code("invalid")
        /// The collector is shutting down.
        public static let shutdown = Code("shutdown")
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

/// A file-system error as one sentence: the operating system's reason (`No such file or directory`) rather than
/// Foundation's `NSCocoaErrorDomain` dump with its user-info dictionary.
public func fileErrorReason(_ error: any Error) -> String {
    if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
    let ns = error as NSError
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? any Error {
        let inner = underlying as NSError
        if inner.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(inner.code))) }
    }
    return ns.localizedDescription
}

import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Caps how many HTTP connections are open at once (`http.max_connections`). Hummingbird has no setting for it, so
/// each connection's pipeline gets a ``ConnectionLimitHandler`` (through `HTTP1Channel`'s additional handlers) that
/// counts it while it is open. A connection over the cap is answered `503 too_many_connections` with
/// `Connection: close` and `Retry-After: 1` at its first request and closed, so a flood of clients costs a file
/// descriptor each for a moment rather than a request each.
public final class ConnectionLimit: Sendable {
    /// Most connections served at once.
    public let limit: Int
    private let open = Atomic<Int>(0)
    private let rejected = Atomic<Int>(0)

    /// A cap of `limit` (at least 1) connections.
    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Connections open now, the rejected ones included until they close.
    public var openConnections: Int { open.load(ordering: .relaxed) }
    /// Connections answered 503 because the cap was reached, since start.
    public var rejectedConnections: Int { rejected.load(ordering: .relaxed) }

    /// A handler for one new connection.
    public func handler() -> ConnectionLimitHandler { ConnectionLimitHandler(limit: self) }

    /// Counts a connection in; false when it is over the cap.
    fileprivate func admit() -> Bool {
        open.wrappingAdd(1, ordering: .relaxed).newValue <= limit
    }

    fileprivate func leave() { open.wrappingSubtract(1, ordering: .relaxed) }

    fileprivate func reject() { rejected.wrappingAdd(1, ordering: .relaxed) }
}

/// One connection's part of ``ConnectionLimit``: passes requests through while the connection is within the cap,
/// otherwise answers the first request with a 503 and closes.
public final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundOut = HTTPResponsePart

    private let limit: ConnectionLimit
    private var counted = false
    private var admitted = true
    private var answered = false

    init(limit: ConnectionLimit) {
        self.limit = limit
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        admitted = limit.admit()
        if !admitted { limit.reject() }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        if counted {
            counted = false
            limit.leave()
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !admitted else {
            context.fireChannelRead(data)
            return
        }
        guard case .head = unwrapInboundIn(data), !answered else { return }
        answered = true
        let body = #"{"error":{"code":"too_many_connections","message":"the server has "#
            + #"\#(limit.limit) connections open (http.max_connections); retry shortly or reuse a connection"}}"#
        answerAndClose(context, status: .serviceUnavailable, body: body, fields: [.retryAfter: "1"])
    }
}

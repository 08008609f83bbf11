import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers a request NIO's HTTP parser refused with a JSON body that says what was wrong, then closes.
///
/// Hummingbird answers a parser error with `400` and an empty body. The usual cause here is a PromQL query of more
/// than ~80 KiB pasted into a GET URL: NIO's decoder caps the request line and headers at 80 KiB. That gets `431`
/// naming the limit and the way around it (a POST form body, as Prometheus' own clients send long queries); any
/// other malformed request gets `400 bad_http`. Added to each connection through `HTTP1Channel`'s additional
/// handlers; it keeps the error from Hummingbird's handler so only one answer is written.
///
/// Requests pipelined before the bad one are answered first, in order: the answer waits until their responses have
/// ended. When the error falls inside a request whose body is still arriving, that request's handler must learn of it,
/// so the error goes on to Hummingbird as before (its empty 400).
public final class MalformedRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// Requests whose head came in and whose response has not ended.
    private var unanswered = 0
    /// Whether a request's head came in and its end has not.
    private var receiving = false
    /// The answer to the parser's error, once there was one; written when `unanswered` reaches 0.
    private var pending: (status: HTTPResponse.Status, body: String)?
    private var answered = false

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            receiving = true
        case .end: receiving = false
        case .body: break
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let ended: Bool
        if case .end = unwrapOutboundIn(data) { ended = true } else { ended = false }
        context.write(data, promise: promise)
        if ended {
            unanswered = max(0, unanswered - 1)
            answerIfDue(context)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !receiving else {
            context.fireErrorCaught(error)
            return
        }
        guard pending == nil, !answered else { return }
        let (status, code, message) = Self.answer(parserError)
        pending = (status, #"{"error":{"code":"\#(code)","message":"\#(message)","details":{}}}"#)
        answerIfDue(context)
    }

    private func answerIfDue(_ context: ChannelHandlerContext) {
        guard let pending, unanswered == 0, !answered else { return }
        answered = true
        answerAndClose(context, status: pending.status, body: pending.body)
    }

    /// The status, code and message for a parser error (kept free of quotes and backslashes: they go into JSON as
    /// they are).
    static func answer(_ error: HTTPParserError) -> (HTTPResponse.Status, String, String) {
        if error == .headerOverflow {
            return (
                .requestHeaderFieldsTooLarge, "request_too_large",
                "the request line and headers are longer than 80 KiB; send a long query as a POST form body "
                    + "(Content-Type: application/x-www-form-urlencoded), as Prometheus clients do"
            )
        }
        let reason = "\(error)".filter { $0 != "\"" && $0 != "\\" && !$0.isNewline }
        return (.badRequest, "bad_http", "the request is not valid HTTP/1.1 (\(reason)); check the client")
    }
}

/// Writes a whole JSON answer on the connection of `context` (a handler's whose outbound type is
/// `HTTPResponsePart`) and closes it once written: the refusals made below the router (too many connections, a request
/// the parser refused).
func answerAndClose(
    _ context: ChannelHandlerContext, status: HTTPResponse.Status, body: String, fields: HTTPFields = [:]
) {
    var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
    buffer.writeString(body)
    var headerFields: HTTPFields = [
        .contentType: "application/json", .contentLength: "\(buffer.readableBytes)", .connection: "close",
    ]
    headerFields.append(contentsOf: fields)
    context.write(NIOAny(HTTPResponsePart.head(HTTPResponse(status: status, headerFields: headerFields))), promise: nil)
    context.write(NIOAny(HTTPResponsePart.body(buffer)), promise: nil)
    let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
    context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
}

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
public final class MalformedRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundOut = HTTPResponsePart

    private var answered = false

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !answered else { return }
        answered = true
        let (status, code, message) = Self.answer(parserError)
        let body = #"{"error":{"code":"\#(code)","message":"\#(message)","details":{}}}"#
        var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        let head = HTTPResponse(
            status: status,
            headerFields: [
                .contentType: "application/json", .contentLength: "\(buffer.readableBytes)", .connection: "close",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
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

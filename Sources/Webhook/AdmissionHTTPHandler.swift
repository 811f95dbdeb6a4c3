internal import Logging
internal import NIOCore
internal import NIOHTTP1

/// `POST /mutate` (an AdmissionReview in, one out) and `GET /healthz`, one response per request. A malformed
/// review is answered 400 with the reason and logged; the server keeps serving.
final class AdmissionHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The API server caps request bodies at 3 MiB; an AdmissionReview holds one object (and its old version).
    static let maximumBody = 8 << 20

    private let admission: PullSecretAdmission
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(admission: PullSecretAdmission, logger: Logger) {
        self.admission = admission
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
            tooLarge = false
        case .body(let chunk):
            if body.count + chunk.readableBytes > Self.maximumBody {
                tooLarge = true
            } else {
                body += chunk.readableBytesView
            }
        case .end:
            guard let head else { return }
            let (status, contentType, payload) = answer(head)
            respond(context: context, keepAlive: head.isKeepAlive, status: status, type: contentType, body: payload)
        }
    }

    private func answer(_ head: HTTPRequestHead) -> (HTTPResponseStatus, String, [UInt8]) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch (head.method, path) {
        case (.GET, "/healthz"):
            return (.ok, "text/plain; charset=utf-8", Array("ok\n".utf8))
        case (.POST, "/mutate"):
            if tooLarge { return refuse(.payloadTooLarge, "the AdmissionReview is larger than 8 MiB") }
            do {
                return (.ok, "application/json", try admission.respond(to: body))
            } catch {
                return refuse(.badRequest, error.description)
            }
        case (_, "/mutate"), (_, "/healthz"):
            return refuse(.methodNotAllowed, "\(path) takes \(path == "/mutate" ? "POST" : "GET")")
        default:
            return (.notFound, "text/plain; charset=utf-8", Array("not found; try POST /mutate or GET /healthz\n".utf8))
        }
    }

    private func refuse(_ status: HTTPResponseStatus, _ reason: String) -> (HTTPResponseStatus, String, [UInt8]) {
        logger.warning("refused a webhook request", metadata: ["status": "\(status.code)", "reason": "\(reason)"])
        return (status, "text/plain; charset=utf-8", Array((reason + "\n").utf8))
    }

    private func respond(
        context: ChannelHandlerContext, keepAlive: Bool, status: HTTPResponseStatus, type: String, body: [UInt8]
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: String(body.count))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}

import NIOCore
import NIOHTTP1
import NIOPosix

/// `/healthz`, `/readyz` and `/metrics` over HTTP/1.1 (swift-nio), on an event loop that sleeps in epoll until a
/// request comes: serving health adds no periodic wake-up to an idle sidecar. It runs on NIO's singleton group,
/// the loop `RefreshExecutor` also runs the sidecar's tasks on, so health costs no thread of its own.
public final class HealthServer: Sendable {
    private let channel: any Channel
    public var port: Int { channel.localAddress?.port ?? 0 }

    /// Binds `address` (`host:port`, `[v6]:port` or `:port` for every interface).
    public static func start(address: String, status: RefreshStatus) async throws -> HealthServer {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw HealthServerError.badAddress(address)
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HealthHandler(status: status))
                }
            }
            .bind(host: host, port: port).get()
        return HealthServer(channel: channel)
    }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Closes the listening socket; the singleton group lives as long as the process.
    public func stop() async {
        try? await channel.close()
    }
}

public enum HealthServerError: Error, CustomStringConvertible {
    case badAddress(String)
    public var description: String {
        switch self {
        case .badAddress(let address): return "--listen \(address) is not host:port (e.g. 127.0.0.1:9090 or :9090)"
        }
    }
}

/// One response per request, then close: probes and scrapers open a connection per request anyway.
final class HealthHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let status: RefreshStatus
    private var uri = "/"

    init(status: RefreshStatus) { self.status = status }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): uri = head.uri
        case .body: break
        case .end: respond(context: context)
        }
    }

    private func respond(context: ChannelHandlerContext) {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        let code: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        let body: [UInt8]
        switch path {
        case "/healthz":
            code = .ok
            body = Array("ok\n".utf8)
        case "/readyz":
            let ready = status.isReady()
            code = ready ? .ok : .serviceUnavailable
            body = Array((ready ? "ready\n" : "not ready: an output lacks an unexpired credential\n").utf8)
        case "/metrics":
            code = .ok
            contentType = "text/plain; version=0.0.4; charset=utf-8"
            body = status.metricsText()
        default:
            code = .notFound
            body = Array("not found; try /healthz, /readyz or /metrics\n".utf8)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: code, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

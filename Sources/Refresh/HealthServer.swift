internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import Synchronization

/// `/healthz`, `/readyz` and `/metrics` over HTTP/1.1 (swift-nio), on an event loop that sleeps in epoll until a
/// request comes: serving health adds no periodic wake-up to an idle sidecar. It runs on NIO's singleton group,
/// the loop `EventLoopExecutor` also runs the sidecar's tasks on, so health costs no thread of its own.
///
/// Probes must keep working when something else holds connections open: a connection that has not sent its whole
/// request within `idleTimeout` is closed, and at most `maximumConnections` are open at once — a new one closes
/// the oldest — so a thousand idle clients (the fd limit is often 1024) can neither exhaust descriptors nor keep
/// a kubelet probe out.
package final class HealthServer: Sendable {
    static let idleTimeout: TimeAmount = .seconds(10)
    static let maximumConnections = 64

    private let channel: any Channel
    package var port: Int { channel.localAddress?.port ?? 0 }

    /// Binds `address` (`host:port`, `[v6]:port` or `:port` for every interface).
    package static func start(address: String, status: RefreshStatus) async throws -> HealthServer {
        let (host, port) = try hostAndPort(address)
        let connections = ConnectionLimit(maximum: maximumConnections)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                connections.admit(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser())
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HealthHandler(status: status))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch let error as IOError {
            // NIO names its own functions (`bind(descriptor:ptr:bytes:)`); the user needs the address and why.
            throw HealthServerError.cannotListen(address, reason: String(cString: strerror(error.errnoCode)))
        } catch {
            throw HealthServerError.cannotListen(address, reason: "\(error)")
        }
        return HealthServer(channel: channel)
    }

    /// `address` (`host:port`, `[v6]:port` or `:port` for every interface) as NIO binds it; the webhook's
    /// --listen takes the same forms.
    package static func hostAndPort(_ address: String) throws(HealthServerError) -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw .badAddress(address)
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        return (host, port)
    }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Closes the listening socket; the singleton group lives as long as the process.
    package func stop() async {
        try? await channel.close()
    }
}

package enum HealthServerError: Error, CustomStringConvertible {
    case badAddress(String)
    case cannotListen(String, reason: String)
    package var description: String {
        switch self {
        case .badAddress(let address): return "--listen \(address) is not host:port (e.g. 127.0.0.1:9090 or :9090)"
        case .cannotListen(let address, let reason):
            return "cannot listen on \(address): \(reason); pick another --listen address"
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
            let reasons = status.notReadyReasons()
            code = reasons.isEmpty ? .ok : .serviceUnavailable
            body = Array((reasons.isEmpty ? "ready\n" : "not ready:\n" + reasons.map { "  \($0)\n" }.joined()).utf8)
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
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: code, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// The open connections, oldest first; admitting one over the limit closes the oldest.
final class ConnectionLimit: Sendable {
    private let maximum: Int
    private let open = Mutex<[(id: ObjectIdentifier, channel: any Channel)]>([])

    init(maximum: Int) { self.maximum = maximum }

    func admit(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let evicted = open.withLock { open -> [any Channel] in
            open.append((id, channel))
            let excess = max(0, open.count - maximum)
            defer { open.removeFirst(excess) }
            return open.prefix(excess).map(\.channel)
        }
        for old in evicted { old.close(promise: nil) }
        channel.closeFuture.whenComplete { [self] _ in
            open.withLock { open in open.removeAll { $0.id == id } }
        }
    }
}

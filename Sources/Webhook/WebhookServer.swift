internal import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import Refresh
internal import Synchronization

/// The webhook's HTTPS listener: NIO sockets with OpenSSL's TLS beneath HTTP/1.1 (the API server keeps
/// connections alive, so they are). The serving context is swapped on rotation; connections made after that
/// present the new certificate.
final class WebhookServer: Sendable {
    /// A connection that has not sent a whole request within this is closed: the API server's own admission
    /// timeout is at most 30 s, and a silent client must not hold a descriptor forever.
    static let idleTimeout: TimeAmount = .seconds(30)

    /// The context new connections take; replaced on rotation.
    private final class CurrentContext: Sendable {
        private let value: Mutex<TLSServerContext>
        init(_ context: TLSServerContext) { value = Mutex(context) }
        func makeConnection() throws(TLSError) -> TLSServerConnection {
            let context = value.withLock { $0 }
            return try context.makeConnection()
        }
        func replace(_ context: TLSServerContext) { value.withLock { $0 = context } }
    }

    private let channel: any Channel
    private let context: CurrentContext
    var port: Int { channel.localAddress?.port ?? 0 }

    static func start(
        host: String, port: Int, context: TLSServerContext, admission: PullSecretAdmission, logger: Logger
    ) async throws -> WebhookServer {
        let current = CurrentContext(context)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let connection = try current.makeConnection()
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(OpenSSLServerHandler(connection: connection, logger: logger))
                    try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try pipeline.addHandler(IdleConnectionCloser())
                    try pipeline.configureHTTPServerPipeline()
                    try pipeline.addHandler(AdmissionHTTPHandler(admission: admission, logger: logger))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return WebhookServer(channel: channel, context: current)
    }

    private init(channel: any Channel, context: CurrentContext) {
        self.channel = channel
        self.context = context
    }

    func serve(_ newContext: TLSServerContext) {
        context.replace(newContext)
    }

    func stop() async {
        try? await channel.close()
    }
}

internal import Logging
internal import NIOCore

/// TLS for a NIO server channel through OpenSSL's libssl (`TLSServerConnection`), below the HTTP handlers: bytes
/// read from the socket are decrypted before they go up, bytes written are encrypted before they go down. The
/// project's one TLS stack (DESIGN.md, "Serving TLS"): no BoringSSL build, and libssl links the way libcrypto does.
final class OpenSSLServerHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    /// What NIO's HTTP encoder writes.
    typealias OutboundIn = IOData
    typealias OutboundOut = ByteBuffer

    private let connection: TLSServerConnection
    private let logger: Logger
    private var closing = false

    init(connection: TLSServerConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        connection.feed(buffer.readableBytesView)
        do {
            if !connection.handshakeFinished {
                let progress = try connection.handshake()
                sendCiphertext(context: context)
                guard progress == .done else { return }
            }
            let (plaintext, closed) = try connection.readPlaintext()
            if !plaintext.isEmpty {
                context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: plaintext)))
            }
            sendCiphertext(context: context)
            if closed { context.close(promise: nil) }
        } catch {
            // A client that does not trust our CA aborts here with an alert: its failure, logged for the operator.
            logger.info(
                "TLS connection failed",
                metadata: [
                    "peer": "\(context.remoteAddress.map { "\($0)" } ?? "?")",
                    "error": "\(error)",
                ])
            sendCiphertext(context: context)
            context.close(promise: nil)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(let buffer) = unwrapOutboundIn(data) else {
            promise?.fail(ChannelError.operationUnsupported)  // a file region cannot be encrypted in place
            return
        }
        do {
            try connection.writePlaintext(Array(buffer.readableBytesView))
        } catch {
            promise?.fail(error)
            return
        }
        let ciphertext = connection.drainCiphertext()
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: ciphertext)), promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all, !closing, connection.handshakeFinished {
            closing = true
            connection.shutdown()
            let ciphertext = connection.drainCiphertext()
            if !ciphertext.isEmpty {
                context.writeAndFlush(
                    wrapOutboundOut(context.channel.allocator.buffer(bytes: ciphertext)), promise: nil)
            }
        }
        context.close(mode: mode, promise: promise)
    }

    private func sendCiphertext(context: ChannelHandlerContext) {
        let ciphertext = connection.drainCiphertext()
        guard !ciphertext.isEmpty else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: ciphertext)), promise: nil)
    }
}

internal import CSSL

/// One server-side TLS connection driven through two memory BIOs: ciphertext from the socket is fed in, and what
/// OpenSSL wants sent is drained out, so the socket stays NIO's and nothing here blocks an event loop. Used from
/// one channel's event loop only.
final class TLSServerConnection {
    enum Progress: Equatable {
        case needMoreInput
        case done
        /// The peer closed the TLS session (close_notify).
        case closed
    }

    private let ssl: OpaquePointer
    private let incoming: OpaquePointer
    private let outgoing: OpaquePointer

    init(context: OpaquePointer) throws(TLSError) {
        guard let ssl = SSL_new(context) else { throw .fromQueue("SSL_new") }
        guard let incoming = BIO_new(BIO_s_mem()), let outgoing = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw .fromQueue("BIO_new")
        }
        // SSL_set_bio takes ownership of both BIOs: SSL_free frees them.
        SSL_set_bio(ssl, incoming, outgoing)
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        self.incoming = incoming
        self.outgoing = outgoing
    }

    deinit { SSL_free(ssl) }

    func feed(_ bytes: some Collection<UInt8>) {
        var remaining = Array(bytes)[...]
        while !remaining.isEmpty {
            let written = remaining.withUnsafeBytes { BIO_write(incoming, $0.baseAddress, Int32($0.count)) }
            if written <= 0 { return }  // a memory BIO grows; it fails only out of memory
            remaining = remaining.dropFirst(Int(written))
        }
    }

    var handshakeFinished: Bool { SSL_is_init_finished(ssl) == 1 }

    func handshake() throws(TLSError) -> Progress {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        return try progress(result, "SSL_do_handshake")
    }

    /// The plaintext decrypted so far; empty when a whole record has not arrived yet.
    func readPlaintext() throws(TLSError) -> (bytes: [UInt8], closed: Bool) {
        var plaintext: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            ERR_clear_error()
            let count = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 {
                plaintext += chunk.prefix(Int(count))
                continue
            }
            return (plaintext, try progress(count, "SSL_read") == .closed)
        }
    }

    func writePlaintext(_ bytes: [UInt8]) throws(TLSError) {
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let count = bytes[offset...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            guard count > 0 else {
                _ = try progress(count, "SSL_write")
                return
            }
            offset += Int(count)
        }
    }

    /// Queues close_notify.
    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// The ciphertext waiting to go to the peer.
    func drainCiphertext() -> [UInt8] {
        let pending = Int(BIO_ctrl_pending(outgoing))
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = bytes.withUnsafeMutableBytes { BIO_read(outgoing, $0.baseAddress, Int32($0.count)) }
        return Array(bytes.prefix(Int(max(read, 0))))
    }

    private func progress(_ result: Int32, _ operation: String) throws(TLSError) -> Progress {
        if result == 1 && operation == "SSL_do_handshake" { return .done }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needMoreInput
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: throw .fromQueue(operation)
        }
    }
}

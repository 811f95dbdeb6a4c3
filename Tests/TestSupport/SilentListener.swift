import Foundation

/// A 127.0.0.1 port that accepts connections and never answers: a listener the kernel completes handshakes for
/// (its backlog has room) but that never reads or writes. A hung registry, as a client meets it: the TCP connect
/// succeeds at once, the TLS hello or HTTP request then waits forever.
package final class SilentListener: @unchecked Sendable {
    package let port: Int
    private let descriptor: Int32

    package init() throws {
        (descriptor, _, port) = try LoopbackListener.open(backlog: 64)
    }

    deinit { close(descriptor) }
}

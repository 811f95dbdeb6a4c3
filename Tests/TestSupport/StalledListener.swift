import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A 127.0.0.1 port whose connects hang: a listener with a backlog of 0 that never accepts, its queue filled by
/// connections of its own. Linux drops further SYNs to a full accept queue, so a client's connect waits until
/// its own timeout — what an unreachable or firewalled host does, without a packet leaving loopback.
package final class StalledListener: @unchecked Sendable {
    package let port: Int
    private var descriptors: [Int32] = []

    package init() throws {
        let (listener, bound, port) = try LoopbackListener.open(backlog: 0)
        var address = bound
        descriptors.append(listener)
        self.port = port
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        // Fill the accept queue: connects that complete at once take it; the first that stays pending proves it full.
        for _ in 0..<8 {
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard client >= 0 else { break }
            descriptors.append(client)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) }
            }
            var poll = pollfd(fd: client, events: Int16(POLLOUT), revents: 0)
            if Glibc.poll(&poll, 1, 200) == 0 { return }  // still pending after 200 ms: the queue is full
        }
        throw POSIXError(.EAGAIN)
    }

    deinit { for fd in descriptors { close(fd) } }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A 127.0.0.1 port whose connects hang: a listener with a backlog of 0 that never accepts, its queue filled by
/// connections of its own. Linux drops further SYNs to a full accept queue, so a client's connect waits until
/// its own timeout — what an unreachable or firewalled host does, without a packet leaving loopback.
public final class StalledListener: @unchecked Sendable {
    public let port: Int
    private var descriptors: [Int32] = []

    public init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        descriptors.append(listener)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(listener, pointer, length) == 0 && listen(listener, 0) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        port = Int(UInt16(bigEndian: address.sin_port))
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

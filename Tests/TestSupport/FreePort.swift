import Foundation

/// Picks a free TCP port on 127.0.0.1 by binding port 0 and reading back what the kernel chose.
/// (A fixture that can bind port 0 itself should; this is for real peers such as docker-registry that take
/// an address in their config.)
package enum FreePort {
    package static func pick() throws -> Int {
        let (descriptor, _, port) = try LoopbackListener.open(backlog: 1)
        close(descriptor)
        return port
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:`port`.
    package static func waitUntilListening(_ port: Int, timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(fd)
            if connected == 0 { return true }
            usleep(100_000)
        }
        return false
    }
}

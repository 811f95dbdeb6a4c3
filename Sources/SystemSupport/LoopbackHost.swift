internal import Glibc

/// Whether a registry host is this machine. Docker allows plain HTTP to loopback registries without any
/// setting (its `isSecureIndex` treats 127.0.0.0/8 and ::1 as insecure), which is how `registry:2` on
/// localhost:5000 works out of the box; ocicred does the same, but still tries https first.
///
/// Only literals and the `localhost` names (RFC 6761 §6.3 reserves them for loopback) count: no DNS lookup,
/// so a name that merely resolves to 127.0.0.1 today is not trusted with plain-HTTP credentials.
package enum LoopbackHost {
    /// `host` may carry a port (`localhost:5000`, `[::1]:5000`, `127.0.0.1:5000`).
    package static func isLoopback(_ host: String) -> Bool {
        let name = hostName(host).lowercased()
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        var ipv4 = in_addr()
        if inet_pton(AF_INET, name, &ipv4) == 1 {
            return UInt32(bigEndian: ipv4.s_addr) >> 24 == 127
        }
        var ipv6 = in6_addr()
        if inet_pton(AF_INET6, name, &ipv6) == 1 {
            let bytes = withUnsafeBytes(of: ipv6) { Array($0) }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }  // ::1
            // IPv4-mapped ::ffff:127.x.y.z
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return bytes[12] == 127
            }
        }
        return false
    }

    /// The host without port or IPv6 brackets.
    static func hostName(_ host: String) -> String {
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return host }
            return String(host[host.index(after: host.startIndex)..<close])
        }
        // More than one ':' without brackets is a bare IPv6 literal, not host:port.
        if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            return String(host[..<colon])
        }
        return host
    }
}

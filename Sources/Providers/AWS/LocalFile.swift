import Credentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads the small local files the credential chain consults (shared config, token files) with plain POSIX
/// calls: no Foundation on the helper's path, and a size cap so a wrong path cannot pull in a huge file.
enum LocalFile {
    static let limit = 1 << 20

    /// The file's text, or nil when it does not exist. Other failures are `.misconfigured` naming the path.
    static func readText(_ path: String) throws(ProviderError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw .misconfigured(provider: "aws", detail: "cannot read \(path): \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let code = errno
                throw .misconfigured(provider: "aws", detail: "cannot read \(path): \(String(cString: strerror(code)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
            if bytes.count > limit {
                throw .misconfigured(provider: "aws", detail: "\(path) is larger than \(limit) bytes")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

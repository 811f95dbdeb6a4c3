internal import Glibc

/// Who this process is, for the choices that depend on it (kernel overlayfs or fuse-overlayfs, a rootless bundle).
package enum ProcessIdentity {
    package static var effectiveUserID: UInt32 { geteuid() }
    package static var realUserID: UInt32 { getuid() }
    package static var realGroupID: UInt32 { getgid() }
    package static var processID: Int32 { getpid() }
    package static var isRoot: Bool { geteuid() == 0 }

    /// The kernel's host name (the pod name in a Kubernetes pod), for an identity that is unique per process
    /// together with `processID`.
    package static func hostName() throws(SystemError) -> String {
        var buffer = [CChar](repeating: 0, count: 256)  // HOST_NAME_MAX is 64 on Linux
        _ = try valueOrErrno("gethostname") { gethostname(&buffer, buffer.count - 1) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

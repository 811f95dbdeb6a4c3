internal import Glibc

/// An `errno` value as a Swift error, with its symbolic name so a message says `EACCES`, not `13`. `detail`
/// replaces strerror's text where ocicred knows better what went wrong ("it is a FIFO, not a regular file").
package struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    package let code: Int32
    package let operation: String
    package let detail: String?

    package init(code: Int32, operation: String, detail: String? = nil) {
        self.code = code
        self.operation = operation
        self.detail = detail
    }

    package var description: String {
        if let detail { return "\(operation): \(detail)" }
        return "\(operation): \(symbol) (\(String(cString: strerror(code))))"
    }

    /// The resource is in use (EBUSY): an unmount that a process still holds up.
    package var isBusy: Bool { code == EBUSY }

    package var symbol: String {
        switch code {
        case ENOENT: return "ENOENT"
        case EACCES: return "EACCES"
        case EPERM: return "EPERM"
        case EEXIST: return "EEXIST"
        case ENOSPC: return "ENOSPC"
        case EROFS: return "EROFS"
        case EISDIR: return "EISDIR"
        case ENOTDIR: return "ENOTDIR"
        case EIO: return "EIO"
        case EINVAL: return "EINVAL"
        case ELOOP: return "ELOOP"
        case EFBIG: return "EFBIG"
        case EPIPE: return "EPIPE"
        case EAGAIN: return "EAGAIN"
        case EBUSY: return "EBUSY"
        case EXDEV: return "EXDEV"
        default: return "errno \(code)"
        }
    }
}

/// The one seam that reads `errno`: runs `body`, retries on `EINTR`, and turns `-1` into a thrown `SystemError`.
@inline(__always)
package func valueOrErrno<T: FixedWidthInteger>(
    _ operation: @autoclosure () -> String, retryOnInterrupt: Bool = true, _ body: () -> T
) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR && retryOnInterrupt { continue }
        throw SystemError(code: code, operation: operation())
    }
}

/// The same seam for calls that report failure with a null pointer (`opendir`, `realpath`).
@inline(__always)
package func pointerOrErrno<T>(_ operation: @autoclosure () -> String, _ body: () -> T?) throws(SystemError) -> T {
    while true {
        if let result = body() { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemError(code: code, operation: operation())
    }
}

/// errno of the last failed call, for the few places that must branch on it without throwing (EWOULDBLOCK from
/// a non-blocking flock). Kept here so no other file reads the C global.
@inline(__always)
package func lastErrno() -> Int32 { errno }

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An `errno` value as a Swift error, with its symbolic name so a message says `EACCES`, not `13`.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    public var description: String { "\(operation): \(symbol) (\(String(cString: strerror(code))))" }

    public var symbol: String {
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
        default: return "errno \(code)"
        }
    }
}

/// The one seam that reads `errno`: runs `body`, retries on `EINTR`, and turns `-1` into a thrown `SystemError`.
@inline(__always)
func valueOrErrno<T: FixedWidthInteger>(
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

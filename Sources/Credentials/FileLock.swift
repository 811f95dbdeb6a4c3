#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock (flock(2)) on a lock file beside the data it guards. flock is released by the
/// kernel when the process dies, so a crashed helper never leaves the store locked.
final class FileLock {
    private let fd: Int32

    init(path: String) throws(SystemError) {
        let fd = try valueOrErrno("open lock \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        if flock(fd, LOCK_EX) != 0 {
            // flock has no EINTR-free variant: retry through the seam.
            do {
                _ = try valueOrErrno("flock \(path)") { flock(fd, LOCK_EX) }
            } catch {
                close(fd)
                throw error
            }
        }
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

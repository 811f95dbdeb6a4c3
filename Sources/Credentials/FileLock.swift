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

    /// Waits for the lock without blocking a thread of the cooperative pool: a blocked flock(2) there could
    /// starve the very task that holds the lock and is awaiting a network answer. Polls with LOCK_NB instead.
    static func acquire(path: String) async throws(SystemError) -> FileLock {
        let fd = try valueOrErrno("open lock \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        var delay: UInt64 = 2_000_000
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(fd)
                throw SystemError(code: code, operation: "flock \(path)")
            }
            try? await Task.sleep(nanoseconds: delay)
            delay = min(delay * 2, 50_000_000)
        }
        return FileLock(lockedDescriptor: fd)
    }

    private init(lockedDescriptor: Int32) { fd = lockedDescriptor }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

internal import Glibc

/// An exclusive advisory lock (flock(2)) on a lock file beside the data it guards. flock is released by the
/// kernel when the process dies, so a crashed helper never leaves the store locked.
///
/// The lock file is opened with `O_NOFOLLOW` and must be a regular file of ours: in a directory another user can
/// write, `.lock -> /etc/anything` would otherwise make a root `store` create or open the file of their choice.
package final class FileLock {
    private let fd: Int32

    /// Blocks until the lock is ours. Only for short-lived processes with nothing else to do meanwhile (a
    /// helper `store`); anything that serves other work waits with `acquire`.
    package init(path: String) throws(SystemError) {
        let fd = try Self.openLockFile(path)
        do {
            _ = try valueOrErrno("flock \(path)") { flock(fd, LOCK_EX) }
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
    }

    /// Waits for the lock without blocking a thread: a blocked flock(2) on the cooperative pool or an event loop
    /// could starve the very task that holds the lock, or stop a health server from answering. Polls with
    /// LOCK_NB instead, backing off to 50 ms.
    package static func acquire(path: String) async throws(SystemError) -> FileLock {
        let fd = try openLockFile(path)
        var delay: UInt64 = 2_000_000
        while true {
            do {
                _ = try valueOrErrno("flock \(path)") { flock(fd, LOCK_EX | LOCK_NB) }
                return FileLock(lockedDescriptor: fd)
            } catch {
                guard error.code == EWOULDBLOCK else {
                    close(fd)
                    throw error
                }
            }
            if Task.isCancelled {
                close(fd)
                throw SystemError(code: ECANCELED, operation: "flock \(path)", detail: "cancelled while waiting")
            }
            await TaskPlacement.sleep(for: .nanoseconds(delay))
            delay = min(delay * 2, 50_000_000)
        }
    }

    private init(lockedDescriptor: Int32) { fd = lockedDescriptor }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Opens (creating 0600) the lock file without following a symlink or blocking on a FIFO, and refuses
    /// anything but a regular file owned by us or root.
    private static func openLockFile(_ path: String) throws(SystemError) -> Int32 {
        let fd: Int32
        do {
            fd = try valueOrErrno("open lock \(path)") {
                open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
            }
        } catch {
            if error.code == ELOOP {
                throw SystemError(
                    code: ELOOP, operation: "open lock \(path)",
                    detail: "it is a symbolic link, which ocicred never follows for a lock; remove it")
            }
            throw error
        }
        var info = stat()
        do {
            _ = try valueOrErrno("stat \(path)") { fstat(fd, &info) }
        } catch {
            close(fd)
            throw error
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw SystemError(
                code: EINVAL, operation: "open lock \(path)",
                detail: "it is \(FileKind(mode: info.st_mode)), not a regular file; remove it")
        }
        guard info.st_uid == geteuid() || info.st_uid == 0 else {
            close(fd)
            throw SystemError(
                code: EPERM, operation: "open lock \(path)",
                detail: "it belongs to uid \(info.st_uid), not to you; remove it")
        }
        return fd
    }
}

import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// SIGTERM, SIGINT and SIGHUP end a mount the way `ocicred unmount` does: the handler only writes a byte to a
/// pipe (all a signal handler may safely do), and a watcher thread unmounts, which ends libfuse's loop through
/// the kernel. Which thread the signal lands on — a libfuse worker, a Swift executor thread — does not matter.
enum MountSignals {
    nonisolated(unsafe) private static var pipeWrite: Int32 = -1
    private static let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// Installs the handlers; returns a function that stops the watcher and restores the default dispositions.
    static func unmountOnSignal(_ mountpoint: String) -> @Sendable () -> Void {
        onSignal {
            try? FuseSession.unmount(mountpoint)
            return true
        }
    }

    /// Runs `action` on the watcher thread for each signal until it returns true (done); false (refused: a
    /// bundle still in use) keeps the handlers for the next signal.
    static func onSignal(_ action: @escaping @Sendable () -> Bool) -> @Sendable () -> Void {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return {} }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        pipeWrite = fds[1]
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in
                var byte: UInt8 = 1
                _ = write(MountSignals.pipeWrite, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
        let watcher = Watcher(readFD: fds[0], action: action)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(watcher).toOpaque()
        pthread_create(
            &thread, nil,
            { context in
                let watcher = Unmanaged<Watcher>.fromOpaque(context!).takeRetainedValue()
                // A parent may have started us with these signals blocked (a mask is inherited); this thread
                // takes them, so they arrive whatever the other threads' masks say.
                var set = sigset_t()
                sigemptyset(&set)
                for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
                pthread_sigmask(SIG_UNBLOCK, &set, nil)
                var byte: UInt8 = 0
                while true {
                    let count = read(watcher.readFD, &byte, 1)
                    if count < 0 && errno == EINTR { continue }
                    if count == 1 && byte == 1 && !watcher.action() { continue }
                    break
                }
                close(watcher.readFD)
                return nil
            }, context)
        pthread_detach(thread)
        let writeFD = fds[1]
        return {
            for signal in signals {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = SIG_DFL
                sigaction(signal, &action, nil)
            }
            var byte: UInt8 = 0  // wakes the watcher without unmounting
            _ = write(writeFD, &byte, 1)
            close(writeFD)
        }
    }

    private final class Watcher: @unchecked Sendable {
        let readFD: Int32
        let action: @Sendable () -> Bool
        init(readFD: Int32, action: @escaping @Sendable () -> Bool) {
            self.readFD = readFD
            self.action = action
        }
    }
}

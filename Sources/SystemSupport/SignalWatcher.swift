internal import Glibc
internal import Synchronization

/// Signals as calls on one watcher thread, for the long-running commands (the refresh sidecar, a mount).
///
/// The handler only writes the signal number to a self-pipe — the one async-signal-safe thing to do; the
/// watcher thread reads it and calls what `route` registered. The thread unblocks the routed signals for
/// itself: a process spawned from a dispatch thread inherits a blocked SIGTERM, and a signal blocked in every
/// thread is never delivered. One mechanism for every command that stops on a signal.
package enum SignalWatcher {
    /// SIGTERM, SIGINT and SIGHUP: what a terminal, a service manager or a container runtime sends a
    /// long-running command to make it stop (the refresh sidecar gives SIGHUP its own meaning, a reload).
    package static let stopSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// Created once, before any handler is installed, so a handler only reads an initialised `let`.
    private static let pipe: (read: Int32, write: Int32) = {
        var pair: [Int32] = [-1, -1]
        guard (try? valueOrErrno("pipe", { Glibc.pipe(&pair) })) != nil else { return (-1, -1) }
        _ = fcntl(pair[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pair[1], F_SETFD, FD_CLOEXEC)
        return (pair[0], pair[1])
    }()
    /// The signals a long-running command stops (SIGTERM, SIGINT) or reloads (SIGHUP) on, which the watcher
    /// thread unblocks; named here so that callers need no C module.
    package static let stopAndReload: [Int32] = [SIGTERM, SIGINT, SIGHUP]
    package static let hangUp: Int32 = SIGHUP

    private static let routes = Mutex<[Int32: @Sendable (Int32) -> Void]>([:])
    private static let watcher: Bool = {
        guard pipe.read >= 0 else { return false }
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { _ in SignalWatcher.watch() }, nil) == 0
        if started { pthread_detach(thread) }
        return started
    }()

    /// Calls `handler` on the watcher thread for each of `signals` until the returned function is called, which
    /// restores their default dispositions.
    package static func route(_ signals: [Int32], to handler: @escaping @Sendable (Int32) -> Void)
        -> @Sendable () -> Void
    {
        guard watcher else { return {} }
        routes.withLock { routes in for signal in signals { routes[signal] = handler } }
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(SignalWatcher.pipe.write, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        return {
            for signal in signals {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = SIG_DFL
                sigaction(signal, &action, nil)
            }
            routes.withLock { routes in for signal in signals { routes[signal] = nil } }
        }
    }

    /// Ignores SIGPIPE for the whole process: a reader that went away is then reported by write(2) as EPIPE,
    /// where the write can handle it, instead of killing the process mid-way (a mount stopping under SIGTERM
    /// would exit 141 and leave its mount point behind).
    package static func ignoreBrokenPipe() throws(SystemError) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_IGN
        sigemptyset(&action.sa_mask)
        _ = try valueOrErrno("ignore SIGPIPE") { sigaction(SIGPIPE, &action, nil) }
    }

    private static func watch() -> UnsafeMutableRawPointer? {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in stopAndReload { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        var byte: UInt8 = 0
        while let count = try? valueOrErrno("read", { read(pipe.read, &byte, 1) }), count == 1 {
            let signal = Int32(byte)
            if let handler = routes.withLock({ $0[signal] }) { handler(signal) }
        }
        return nil
    }
}

internal import Synchronization
internal import SystemSupport

/// SIGTERM, SIGINT and SIGHUP end a mount the way `ocicred unmount` does, through the one `SignalWatcher`: its
/// thread unmounts, which ends libfuse's loop through the kernel. Which thread the signal lands on — a libfuse
/// worker, a Swift executor thread — does not matter.
enum MountSignals {
    /// Installs the handlers; returns a function that restores the default dispositions.
    static func unmountOnSignal(_ mountpoint: String) -> @Sendable () -> Void {
        onSignal {
            try? FuseSession.unmount(mountpoint)
            return true
        }
    }

    /// Runs `action` for each signal until it returns true (done; later signals are ignored until the restore);
    /// false (refused: a bundle still in use) waits for the next signal.
    static func onSignal(_ action: @escaping @Sendable () -> Bool) -> @Sendable () -> Void {
        let done = Mutex(false)
        return SignalWatcher.route(SignalWatcher.stopSignals) { _ in
            guard !done.withLock({ $0 }) else { return }
            if action() { done.withLock { $0 = true } }
        }
    }
}

import Foundation
import Synchronization

/// What can interrupt the refresh loop's sleep besides its own timer.
public enum RefreshEvent: Sendable, Equatable {
    /// SIGTERM/SIGINT: finish the write in progress, then exit 0.
    case terminate
    /// SIGHUP: reload the config; a broken one is reported and the old one kept.
    case reload
    /// This replica just became the leader: write the Secrets now rather than at the next refresh.
    case leadershipGained
}

/// A mailbox with a deadline: `next(until:)` returns the next posted event, or nil when the deadline passes
/// first. With no deadline it waits for an event only — no timer, no periodic wake-up while idle.
public final class RefreshEvents: Sendable {
    private struct State {
        var pending: [RefreshEvent] = []
        var waiter: (id: Int, continuation: CheckedContinuation<RefreshEvent?, Never>)?
        var nextID = 0
    }
    private let state = Mutex(State())

    public init() {}

    public func post(_ event: RefreshEvent) {
        let waiter = state.withLock { state -> CheckedContinuation<RefreshEvent?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.pending.append(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    /// A posted event that has not been taken yet, without waiting (checked between registries of a pass).
    public func pendingTermination() -> Bool { state.withLock { $0.pending.contains(.terminate) } }

    /// The next event, or nil once `deadline` (wall clock) has passed. One waiter at a time.
    public func next(until deadline: Date?, now: @Sendable () -> Date = { Date() }) async -> RefreshEvent? {
        if let event = state.withLock({ $0.pending.isEmpty ? nil : $0.pending.removeFirst() }) { return event }
        if let deadline, deadline <= now() { return nil }
        let delay = deadline.map { max(0, $0.timeIntervalSince(now())) }
        var timer: Task<Void, Never>?
        let event = await withCheckedContinuation { (continuation: CheckedContinuation<RefreshEvent?, Never>) in
            let id = state.withLock { state -> Int in
                state.nextID += 1
                state.waiter = (state.nextID, continuation)
                return state.nextID
            }
            if let delay {
                timer = Task { [self] in
                    try? await Task.sleep(for: .milliseconds(Int64((delay * 1000).rounded(.up))))
                    let waiter = state.withLock { state -> CheckedContinuation<RefreshEvent?, Never>? in
                        guard let waiter = state.waiter, waiter.id == id else { return nil }
                        state.waiter = nil
                        return waiter.continuation
                    }
                    waiter?.resume(returning: nil)
                }
            }
        }
        timer?.cancel()
        return event
    }
}

/// Turns SIGTERM, SIGINT and SIGHUP into `RefreshEvent`s. The handler only writes the signal number to a
/// pipe (the one async-signal-safe thing to do); a dedicated thread, which unblocks the three signals for
/// itself, reads the pipe and posts. Unblocking there matters: a process spawned from a dispatch thread
/// inherits a blocked SIGTERM, and a signal blocked in every thread is never delivered.
public enum SignalForwarder {
    public static func start(into events: RefreshEvents) {
        let fds = SignalPipe.fds
        guard fds.read >= 0 else { return }
        let thread = Thread {
            var set = sigset_t()
            sigemptyset(&set)
            for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            var byte: UInt8 = 0
            while true {
                let count = read(fds.read, &byte, 1)
                if count < 0 && errno == EINTR { continue }
                guard count == 1 else { return }
                events.post(Int32(byte) == SIGHUP ? .reload : .terminate)
            }
        }
        thread.name = "ocicred-signals"
        thread.start()
        for number in [SIGTERM, SIGINT, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(SignalPipe.fds.write, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
    }
}

/// The self-pipe, created once before any handler is installed (so the handler only reads a global `let`
/// that is already initialised).
enum SignalPipe {
    static let fds: (read: Int32, write: Int32) = {
        var pair: [Int32] = [-1, -1]
        guard pipe(&pair) == 0 else { return (-1, -1) }
        _ = fcntl(pair[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pair[1], F_SETFD, FD_CLOEXEC)
        return (pair[0], pair[1])
    }()
}

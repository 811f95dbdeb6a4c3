package import FoundationEssentials
internal import Synchronization
internal import SystemSupport

/// What can interrupt the refresh loop's sleep besides its own timer.
package enum RefreshEvent: Sendable, Equatable {
    /// SIGTERM/SIGINT: finish the write in progress, then exit 0.
    case terminate
    /// SIGHUP: reload the config; a broken one is reported and the old one kept.
    case reload
    /// This replica just became the leader: write the Secrets now rather than at the next refresh.
    case leadershipGained
}

/// A mailbox with a deadline: `next(until:)` returns the next posted event, or nil when the deadline passes
/// first. With no deadline it waits for an event only — no timer, no periodic wake-up while idle.
package final class RefreshEvents: Sendable {
    private struct State {
        var pending: [RefreshEvent] = []
        var waiter: (id: Int, continuation: CheckedContinuation<RefreshEvent?, Never>)?
        var nextID = 0
        /// Work to cancel when SIGTERM arrives (a pass waiting on another process's lock, say).
        var cancellers: [Int: @Sendable () -> Void] = [:]
        var terminating = false
    }
    private let state = Mutex(State())

    package init() {}

    package func post(_ event: RefreshEvent) {
        let (waiter, cancellers) = state.withLock {
            state -> (CheckedContinuation<RefreshEvent?, Never>?, [@Sendable () -> Void]) in
            var cancellers: [@Sendable () -> Void] = []
            if event == .terminate {
                state.terminating = true
                cancellers = Array(state.cancellers.values)
            }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter.continuation, cancellers)
            }
            state.pending.append(event)
            return (nil, cancellers)
        }
        for cancel in cancellers { cancel() }
        waiter?.resume(returning: event)
    }

    /// Runs `body` as a task that SIGTERM cancels: a pass that waits on another process's lock or on a backoff
    /// ends at once, and the loop then sees `.terminate`. What cancellation cannot interrupt (a write already
    /// under its lock) finishes first.
    package func cancellingOnTermination<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        let task = TaskPlacement.task { await body() }
        let (id, alreadyTerminating) = state.withLock { state -> (Int, Bool) in
            state.nextID += 1
            state.cancellers[state.nextID] = { task.cancel() }
            return (state.nextID, state.terminating)
        }
        if alreadyTerminating { task.cancel() }
        let value = await task.value
        _ = state.withLock { $0.cancellers.removeValue(forKey: id) }
        return value
    }

    /// A posted event that has not been taken yet, without waiting (checked between registries of a pass).
    package func pendingTermination() -> Bool { state.withLock { $0.pending.contains(.terminate) } }

    /// The next event, or nil once `deadline` (wall clock) has passed. One waiter at a time.
    package func next(until deadline: Date?, now: @Sendable () -> Date = { Date() }) async -> RefreshEvent? {
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
                timer = TaskPlacement.task { [self] in
                    await TaskPlacement.sleep(for: .milliseconds(Int64((delay * 1000).rounded(.up))))
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

/// Turns SIGTERM, SIGINT and SIGHUP into `RefreshEvent`s (through the one `SignalWatcher`).
package enum SignalForwarder {
    package static func start(into events: RefreshEvents) {
        _ = SignalWatcher.route(SignalWatcher.stopAndReload) { signal in
            events.post(signal == SignalWatcher.hangUp ? .reload : .terminate)
        }
    }
}

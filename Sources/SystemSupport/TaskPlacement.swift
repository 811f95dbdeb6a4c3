internal import Synchronization

/// An executor that can also run work after a delay: the refresh sidecar's event loop, whose timers keep a sleep
/// off the global executor.
package protocol DelayingExecutor: TaskExecutor {
    /// Calls `body` after `delay`; the returned function cancels it if it has not run yet.
    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> @Sendable () -> Void
}

/// New tasks and sleeps that stay on the executor the current task prefers (SE-0417's task executor preference).
///
/// Why: an unstructured `Task {}` and `Task.sleep` go through the global executor, which on Linux is libdispatch's
/// worker pool; its first job starts a monitor that wakes the process every second for good. The refresh sidecar
/// runs under an event-loop preference (`EventLoopExecutor`) so that it sleeps in `epoll_wait` while idle; every
/// task it starts and every sleep it takes comes through here to stay there. Without a preference (every other
/// command) these are plain `Task {}` and `Task.sleep`.
package enum TaskPlacement {
    /// The current task's executor preference, nil without one.
    package static var preferred: (any TaskExecutor)? {
        withUnsafeCurrentTask { $0?.unownedTaskExecutor?.asTaskExecutor() }
    }

    /// `Task {}` with the current task's executor preference.
    @discardableResult
    package static func task<T: Sendable>(_ body: sending @escaping () async -> T) -> Task<T, Never> {
        Task(executorPreference: preferred, operation: body)
    }

    /// `Task.sleep(for:)` on the preferred executor's timer when it has one; returns early, without throwing, when
    /// the task is cancelled (callers check `Task.isCancelled`, as after `try? await Task.sleep`).
    package static func sleep(for duration: Duration) async {
        guard let executor = preferred as? any DelayingExecutor else {
            try? await Task.sleep(for: duration)
            return
        }
        let wake = PendingWake()
        let cancelTimer = executor.schedule(after: duration) { wake.fire() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { wake.arm($0) }
        } onCancel: {
            cancelTimer()
            wake.fire()
        }
    }
}

/// One wake-up for one sleeper, whichever comes first: the timer, a cancellation, or both (the second is a no-op).
private final class PendingWake: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<Void, Never>?, fired: Bool)>((nil, false))

    func arm(_ continuation: CheckedContinuation<Void, Never>) {
        let already = state.withLock { state -> Bool in
            if state.fired { return true }
            state.continuation = continuation
            return false
        }
        if already { continuation.resume() }
    }

    func fire() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.fired = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume()
    }
}

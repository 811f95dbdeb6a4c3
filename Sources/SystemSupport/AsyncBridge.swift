internal import Dispatch

/// Runs async work from synchronous `main` and waits for it. `main.swift` stays synchronous on purpose: an
/// async top level starts libdispatch's main queue and worker threads before the first line runs, which the
/// credential helper's cached `get` (a few milliseconds, paid on every pull) cannot afford. Only work that
/// really awaits — minting a token, a registry round trip — comes through here.
package enum AsyncBridge {
    /// `executor`, when given, is the preference the work and every task it starts through `TaskPlacement` run on.
    package static func wait<T: Sendable>(
        on executor: (any TaskExecutor)? = nil, _ body: @escaping @Sendable () async -> T
    ) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached(executorPreference: executor) {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value!
    }
}

/// Written once by the task before it signals, read once by the waiter after: the semaphore orders the two.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

internal import Synchronization

/// Bounds how long a caller waits for async work that cannot itself be interrupted (a libcurl transfer, a
/// retry loop): the caller gets `.fetchTimedOut` when `limit` passes, and the work, left to finish on its own,
/// is cancelled so its retry loop stops at the next attempt.
enum Deadline {
    static func race<T: Sendable>(
        _ limit: Duration, layer: String, _ work: @escaping @Sendable () async throws(LazyMountError) -> T
    ) async throws(LazyMountError) -> T {
        let result: Result<T, LazyMountError> = await withCheckedContinuation { continuation in
            let race = Race<T>(continuation)
            let worker = Task {
                do throws(LazyMountError) {
                    race.finish(.success(try await work()))
                } catch {
                    race.finish(.failure(error))
                }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled else { return }
                if race.finish(.failure(.fetchTimedOut(layer: layer, seconds: Int(limit.components.seconds)))) {
                    worker.cancel()
                }
            }
            race.onFinish { timer.cancel() }
        }
        return try result.get()
    }

    /// Resumes the continuation with whichever result comes first.
    private final class Race<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Result<T, LazyMountError>, Never>?
            var cleanup: (@Sendable () -> Void)?
            var finished = false
        }
        private let state: Mutex<State>

        init(_ continuation: CheckedContinuation<Result<T, LazyMountError>, Never>) {
            state = Mutex(State(continuation: continuation))
        }

        @discardableResult
        func finish(_ result: Result<T, LazyMountError>) -> Bool {
            let (continuation, cleanup) = state.withLock { state in
                defer { state.continuation = nil; state.cleanup = nil; state.finished = true }
                return (state.continuation, state.cleanup)
            }
            guard let continuation else { return false }
            continuation.resume(returning: result)
            cleanup?()
            return true
        }

        /// Runs `cleanup` when the race is decided (at once if it already is).
        func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
            let runNow = state.withLock { state in
                if state.finished { return true }
                state.cleanup = cleanup
                return false
            }
            if runNow { cleanup() }
        }
    }
}

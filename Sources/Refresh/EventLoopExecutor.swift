import NIOCore
import NIOPosix
@_spi(ExperimentalCustomExecutors) @_spi(ExperimentalScheduling) import _Concurrency

/// Swift concurrency's default executor for the refresh sidecar: every task, actor hop and `Task.sleep` runs on
/// one SwiftNIO event loop, which sleeps in `epoll_wait` until a socket, a signal pipe or its next timer needs it.
///
/// Why: on Linux the stock global executor is libdispatch's worker pool, and the first job it runs starts the
/// pool's monitor, a timer that ticks once a second for the rest of the process — 60 wake-ups a minute in a
/// sidecar that has nothing to do for hours (issue 5 asks for none). The health server shares the loop
/// (`HealthServer.start`), so an idle sidecar is three threads: main (waiting in `AsyncBridge.wait`), the signal
/// thread and this loop.
///
/// Installed through the toolchain's executor factory (`swift_createExecutors`, SPI in Swift 6.3), not NIO's
/// `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`: that one looks the runtime's
/// enqueue hook up with `dlsym`, which finds nothing in our release build (the Swift runtime is linked in with
/// `--static-swift-stdlib` and exports no symbols), and it would leave `Task.sleep` on dispatch's timers.
/// Jobs must not block the loop: file writes are short, curl runs on threads of its own, and the token cache
/// lock is polled with `Task.sleep`. Anything that still uses `DispatchQueue.global()` (AWS `credential_process`
/// does) starts dispatch's pool, and its monitor, again.
final class EventLoopExecutor: TaskExecutor, SchedulingExecutor, @unchecked Sendable {
    // @unchecked: the only stored property is an immutable reference to a thread-safe event loop.
    let loop: any EventLoop

    init(loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C) {
        let job = UnownedJob(job)
        // The runtime's clocks (continuous, suspending) measure in `Duration`; another clock's delay is not
        // convertible, and running such a job at once is what a sleep that cannot be timed should do.
        let nanoseconds = (delay as? Duration).map(Self.nanoseconds) ?? 0
        loop.scheduleTask(in: .nanoseconds(nanoseconds)) { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? 0 : .max }
        let (total, overflowTotal) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowTotal ? .max : max(0, total)
    }
}

/// Puts `EventLoopExecutor` in place of the default executor; see there for why.
public enum RefreshExecutor {
    /// Must run before the process's first task: the runtime creates its default executors on the first
    /// enqueue, after which this changes nothing. Sizes NIO's singleton group to one loop: each loop is a
    /// thread, a stack and a malloc arena, and the sidecar needs one. Call it once (NIO traps on a second).
    public static func install() {
        NIOSingletons.groupLoopCountSuggestion = 1
        _createExecutors(factory: EventLoopExecutorFactory.self)
    }
}

enum EventLoopExecutorFactory: ExecutorFactory {
    static let executor = EventLoopExecutor(loop: MultiThreadedEventLoopGroup.singleton.next())
    /// The main actor stays on the main queue; the sidecar never uses it (main blocks in `AsyncBridge.wait`).
    static var mainExecutor: any MainExecutor { PlatformExecutorFactory.mainExecutor }
    static var defaultExecutor: any TaskExecutor { executor }
}

internal import NIOCore
internal import NIOPosix
internal import SystemSupport

/// The refresh sidecar's task executor: the sidecar's tasks, actor hops and sleeps run on one SwiftNIO event
/// loop, which sleeps in `epoll_wait` until a socket, a signal pipe or its next timer needs it.
///
/// Why: on Linux the global executor is libdispatch's worker pool, and the first job it runs starts the pool's
/// monitor, a timer that ticks once a second for the rest of the process — 60 wake-ups a minute in a sidecar that
/// has nothing to do for hours (issue 5 asks for none). The health server shares the loop (`HealthServer.start`),
/// so an idle sidecar is three threads: main (waiting in `AsyncBridge.wait`), the signal thread and this loop.
///
/// Placed with the supported task executor preference (SE-0417): `main` starts the sidecar's work with this
/// executor as its preference, which its child tasks inherit; unstructured tasks and sleeps keep it through
/// `TaskPlacement` (a plain `Task {}` or `Task.sleep` would reach the global executor, and start the pool). No
/// toolchain SPI: the runtime's executor factory, which would replace the global executor itself, is not public.
/// NIO's `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor` is no alternative: it looks the
/// runtime's hook up with `dlsym`, which finds nothing in the release build (the Swift runtime is linked
/// statically and exports no symbols). Jobs must not block the loop: file writes are short, curl runs on threads
/// of its own, and the token cache lock is polled with `TaskPlacement.sleep`. Anything that still uses
/// `DispatchQueue.global()` (AWS `credential_process` does) starts dispatch's pool, and its monitor, again.
final class EventLoopExecutor: DelayingExecutor, @unchecked Sendable {
    // @unchecked: the only stored property is an immutable reference to a thread-safe event loop.
    let loop: any EventLoop

    init(loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let scheduled = loop.scheduleTask(in: .nanoseconds(Self.nanoseconds(delay))) { body() }
        return { scheduled.cancel() }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? 0 : .max }
        let (total, overflowTotal) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflowTotal ? .max : max(0, total)
    }
}

/// The sidecar's `EventLoopExecutor`; see there for why.
package enum RefreshExecutor {
    /// Sizes NIO's singleton group to one loop (each loop is a thread, a stack and a malloc arena, and the sidecar
    /// needs one) and returns the executor on it. Call it once, before the group is first used (NIO traps on a
    /// second sizing).
    package static func make() -> any TaskExecutor {
        NIOSingletons.groupLoopCountSuggestion = 1
        return EventLoopExecutor(loop: MultiThreadedEventLoopGroup.singleton.next())
    }
}

import NIOPosix
import SystemSupport
import Testing

@testable import Refresh

/// The pieces that keep an idle sidecar small and asleep: which mappings may be given back, and the event-loop
/// executor's timing.
struct RefreshIdleFootprintTests {
    static let smaps = """
        00400000-02068000 r-xp 00000000 fe:00 5566612                            /opt/ocicred/bin/ocicred
        Size:              29088 kB
        Rss:               13984 kB
        Anonymous:             0 kB
        VmFlags: rd ex mr mw me dw sd
        02068000-0219a000 r--p 01c67000 fe:00 5566612                            /opt/ocicred/bin/ocicred
        Rss:                1100 kB
        Anonymous:             8 kB
        0219a000-0469b000 rw-p 01d99000 fe:00 5566612                            /opt/ocicred/bin/ocicred
        Anonymous:           148 kB
        10000000-10100000 r-xp 00000000 fe:00 77                                 /opt/ocicred/bin/ocicred
        Anonymous:             4 kB
        7f0000000000-7f0000100000 r-xp 00000000 fe:00 99                         /usr/lib/libcurl.so.4
        Anonymous:             0 kB
        7f0000200000-7f0000300000 r-xp 00000000 00:00 0                          /opt/my tools/ocicred
        Anonymous:             0 kB
        7ffc00000000-7ffc00002000 r-xp 00000000 00:00 0                          [vdso]
        Anonymous:             0 kB
        """

    @Test func onlyTheBinarysCleanCodeIsGivenBack() {
        let mappings = StartupCode.codeMappings(smaps: Self.smaps, executable: "/opt/ocicred/bin/ocicred")
        // Not its data (writable or relocated), not a code mapping with a private copy, not a library.
        #expect(mappings == [.init(start: 0x400000, end: 0x2068000)])
    }

    @Test func aPathWithSpacesIsMatchedWhole() {
        let mappings = StartupCode.codeMappings(smaps: Self.smaps, executable: "/opt/my tools/ocicred")
        #expect(mappings == [.init(start: 0x7f00_0020_0000, end: 0x7f00_0030_0000)])
    }

    @Test func givingBackCodeWhileRunningIsHarmless() {
        // This test process's own code: it keeps running on pages mapped back from the page cache.
        #expect(StartupCode.release() > 0)
        #expect(StartupCode.codeMappings(smaps: Self.smaps, executable: "/opt/ocicred/bin/ocicred").count == 1)
    }

    @Test(arguments: [
        (Duration.zero, Int64(0)), (.milliseconds(1500), 1_500_000_000), (.nanoseconds(7), 7),
        (.seconds(-3), 0), (.seconds(Int64.max), Int64.max),
    ])
    func sleepDelaysBecomeEventLoopNanoseconds(delay: Duration, nanoseconds: Int64) {
        #expect(EventLoopExecutor.nanoseconds(delay) == nanoseconds)
    }

    @Test func jobsTasksAndSleepsRunOnTheEventLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let executor = EventLoopExecutor(loop: loop)
        let (onLoop, spawnedOnLoop, afterSleep) = await withTaskExecutorPreference(executor) {
            let onLoop = loop.inEventLoop
            let spawnedOnLoop = await TaskPlacement.task { loop.inEventLoop }.value
            let clock = ContinuousClock()
            let started = clock.now
            await TaskPlacement.sleep(for: .milliseconds(50))
            return (onLoop, spawnedOnLoop, loop.inEventLoop && clock.now - started >= .milliseconds(50))
        }
        #expect(onLoop && spawnedOnLoop && afterSleep)
        try await group.shutdownGracefully()
    }

    @Test(.timeLimit(.minutes(1))) func aCancelledSleepOnTheEventLoopReturnsAtOnce() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let executor = EventLoopExecutor(loop: group.next())
        let sleeper = Task(executorPreference: executor) { await TaskPlacement.sleep(for: .seconds(3600)) }
        sleeper.cancel()
        await sleeper.value  // a sleep that ignored cancellation would hold the test for an hour
        try await group.shutdownGracefully()
    }
}

import Credentials
import Foundation
import Logging
import Refresh
import Synchronization
import Testing

/// A clock and a token source the test moves by hand.
final class FakeWorld: Sendable {
    let clock = Mutex(Date(timeIntervalSince1970: 1_750_000_000))
    let failing = Mutex(false)
    let lifetime = Mutex(3600.0)
    let mints = Mutex(0)
    var now: @Sendable () -> Date { { self.clock.withLock { $0 } } }
    func advance(_ seconds: Double) { clock.withLock { $0 += seconds } }

    var resolve: RefreshEngine.Resolve {
        { _, _ in
            struct Down: Error {}
            if self.failing.withLock({ $0 }) { throw Down() }
            let number = self.mints.withLock {
                $0 += 1; return $0
            }
            return Credential(
                username: "oauth2accesstoken", secret: Secret("token-\(number)"),
                expiresAt: self.now() + self.lifetime.withLock { $0 }, source: .provider(name: "fake"))
        }
    }
}

/// Records what it was asked to write.
final class RecordingOutput: RefreshOutput, Sendable {
    let name = "recording"
    let registries: [String]
    let written = Mutex<[[String: String]]>([])
    init(registries: [String]) { self.registries = registries }
    func write(_ credentials: [String: Credential]) async throws -> Bool {
        written.withLock { $0.append(credentials.mapValues { $0.secret.exposedValue }) }
        return true
    }
}

struct RefreshEngineTests {
    @Test func everyOutputIsWrittenOnceBeforeReadyAndAgainOnlyWhenDue() async {
        let world = FakeWorld()
        let output = RecordingOutput(registries: ["a.example", "b.example"])
        let engine = RefreshEngine(
            outputs: [output], policy: RefreshPolicy(), resolve: world.resolve, logger: Logger(label: "test"),
            now: world.now, jitter: { 0 })
        #expect(!engine.status.isReady(at: world.now()))
        await engine.step()
        #expect(output.written.withLock { $0.count } == 1)
        #expect(engine.status.isReady(at: world.now()))
        world.advance(60)
        await engine.step()
        #expect(output.written.withLock { $0.count } == 1, "nothing was due")
        let wake = await engine.nextWake!
        #expect(wake == Date(timeIntervalSince1970: 1_750_000_000 + 3600 - 360))
    }

    @Test func aFailingSourceKeepsTheLastGoodCredentialUntilItExpires() async {
        let world = FakeWorld()
        world.lifetime.withLock { $0 = 120 }
        let output = RecordingOutput(registries: ["gcr.io"])
        let engine = RefreshEngine(
            outputs: [output], policy: RefreshPolicy(minInterval: 5), resolve: world.resolve,
            logger: Logger(label: "test"), now: world.now, jitter: { 0 })
        await engine.step()
        world.failing.withLock { $0 = true }
        world.advance(60)
        let failed = await engine.step()
        #expect(failed.registries == ["gcr.io"])
        #expect(await engine.credential(for: "gcr.io")?.secret.exposedValue == "token-1")
        #expect(engine.status.isReady(at: world.now()))
        #expect(await engine.scheduleEntries["gcr.io"]?.backoff == 5)
        world.advance(61)
        #expect(!engine.status.isReady(at: world.now()), "the kept credential has expired")
        world.failing.withLock { $0 = false }
        world.advance(10)
        await engine.step()
        #expect(engine.status.isReady(at: world.now()))
        #expect(output.written.withLock { $0.last?["gcr.io"] } == "token-2")
    }
}

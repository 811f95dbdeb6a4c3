import Credentials
import Foundation
import Synchronization
import TestSupport
import Testing

@Suite("token cache")
struct TokenCacheTests {
    /// A clock the test moves by hand.
    final class ManualClock: @unchecked Sendable {
        private let value: Mutex<Date>
        init(_ start: Date) { value = Mutex(start) }
        var now: Date { value.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    /// A thread-safe count shared with concurrently running closures.
    final class Counter: Sendable {
        private let value = Mutex(0)
        @discardableResult func increment() -> Int {
            value.withLock { count in
                count += 1
                return count
            }
        }
        var count: Int { value.withLock { $0 } }
    }

    func token(_ secret: String, expiresIn seconds: TimeInterval, from start: Date) -> MintedToken {
        MintedToken(username: "AWS", secret: Secret(secret), expiresAt: start.addingTimeInterval(seconds))
    }

    static let margins: [(TimeInterval, TimeInterval)] = [
        (43_200, 4_320), (3_600, 360), (1_800, 300), (10_800, 1_080), (600, 300),
    ]

    @Test("refresh time is expiry minus the larger of 10 % of the lifetime and 5 minutes", arguments: margins)
    func refreshMargin(lifetime: TimeInterval, margin: TimeInterval) {
        let issued = Date(timeIntervalSince1970: 1_000_000)
        let expires = issued.addingTimeInterval(lifetime)
        #expect(TokenCache.refreshAt(issuedAt: issued, expiresAt: expires) == expires.addingTimeInterval(-margin))
    }

    @Test("a token is reused until its refresh time, then minted again")
    func reuseThenRefresh() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let clock = ManualClock(Date())
        let cache = TokenCache(file: dir.file("tokens"), keyFile: dir.file("key"), now: { clock.now })
        let mints = Counter()
        func get() async throws -> MintedToken {
            try await cache.token(registry: "r", identity: "i") { () async throws(CredentialError) -> MintedToken in
                let count = mints.increment()
                return token("t\(count)", expiresIn: 12 * 3600, from: clock.now)
            }
        }
        #expect(try await get().secret.exposedValue == "t1")
        clock.advance(10 * 3600)
        #expect(try await get().secret.exposedValue == "t1")
        // 4 minutes left (and inside the 72-minute margin): refreshed.
        clock.advance(1 * 3600 + 56 * 60)
        #expect(try await get().secret.exposedValue == "t2")
        #expect(mints.count == 2)
    }

    @Test("a token that arrives expired or nearly expired is used once but never cached")
    func expiredNotCached() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = TokenCache(file: dir.file("tokens"), keyFile: dir.file("key"))
        let mints = Counter()
        for lifetime in [-10.0, 60, 200] {
            let got = try await cache.token(registry: "r", identity: "i") {
                () async throws(CredentialError) -> MintedToken in
                mints.increment()
                return token("short", expiresIn: lifetime, from: Date())
            }
            #expect(got.secret.exposedValue == "short")
        }
        #expect(mints.count == 3)
        #expect(!FileManager.default.fileExists(atPath: dir.file("tokens")))
    }

    @Test("identities and registries never share a token")
    func keyedByIdentity() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = TokenCache(file: dir.file("tokens"), keyFile: dir.file("key"))
        for (registry, identity) in [("r1", "a"), ("r1", "b"), ("r2", "a")] {
            let got = try await cache.token(registry: registry, identity: identity) {
                () async throws(CredentialError) -> MintedToken in
                token("\(registry)-\(identity)", expiresIn: 3600, from: Date())
            }
            #expect(got.secret.exposedValue == "\(registry)-\(identity)")
        }
        let again = try await cache.token(registry: "r1", identity: "b") {
            () async throws(CredentialError) -> MintedToken in
            Issue.record("should have been cached")
            return token("x", expiresIn: 3600, from: Date())
        }
        #expect(again.secret.exposedValue == "r1-b")
    }

    @Test("20 concurrent requests with an empty cache mint exactly once")
    func singleFlight() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = TokenCache(file: dir.file("tokens"), keyFile: dir.file("key"))
        let mints = Counter()
        let secrets = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await cache.token(registry: "r", identity: "i") {
                        () async throws(CredentialError) -> MintedToken in
                        mints.increment()
                        try? await Task.sleep(nanoseconds: 200_000_000)
                        return token("only", expiresIn: 3600, from: Date())
                    }.secret.exposedValue
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(mints.count == 1)
        #expect(secrets == Array(repeating: "only", count: 20))
    }

    @Test("the cache file is 0600, encrypted, and a mint failure caches nothing")
    func atRest() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = TokenCache(file: dir.file("c/tokens"), keyFile: dir.file("key"))
        _ = try await cache.token(registry: "r", identity: "i") { () async throws(CredentialError) -> MintedToken in
            token("cache-canary-77", expiresIn: 3600, from: Date())
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.file("c/tokens")))
        #expect(bytes.range(of: Data("cache-canary-77".utf8)) == nil)
        #expect(
            (try FileManager.default.attributesOfItem(atPath: dir.file("c/tokens"))[.posixPermissions] as? Int) == 0o600
        )
        await #expect(throws: CredentialError.self) {
            try await cache.token(registry: "r2", identity: "i") { () async throws(CredentialError) -> MintedToken in
                throw .provider(.rejected(provider: "aws", endpoint: "e", code: "AccessDenied", message: "no"))
            }
        }
        try await cache.invalidate(registry: "r")
        let after = try await cache.token(registry: "r", identity: "i") {
            () async throws(CredentialError) -> MintedToken in
            token("fresh", expiresIn: 3600, from: Date())
        }
        #expect(after.secret.exposedValue == "fresh")
    }
}

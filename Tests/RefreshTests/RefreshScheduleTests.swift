import Credentials
import Foundation
import Refresh
import Testing

/// The scheduling rules with an injected clock: microseconds, no sleeps.
struct RefreshScheduleTests {
    let t0 = Date(timeIntervalSince1970: 1_750_000_000)
    let policy = RefreshPolicy(minInterval: 5, retryInitial: 5, retryMax: 300, jitterFraction: 0.1)

    @Test func aTwelveHourTokenIsRefreshedAtItsRefreshAtNotHourly() {
        var schedule = RefreshSchedule(registries: ["ecr"], policy: policy, now: t0)
        schedule.succeeded("ecr", issuedAt: t0, expiresAt: t0 + 12 * 3600, jitter: 0)
        // TokenCache's rule: 10 % of 12 h = 72 min before expiry.
        #expect(schedule.nextWake == t0 + 12 * 3600 - 72 * 60)
        schedule.succeeded("ecr", issuedAt: t0, expiresAt: t0 + 12 * 3600, jitter: 0.999)
        let jittered = schedule.nextWake!
        // Jitter only moves it earlier, by at most 10 % of the 72 min margin.
        #expect(jittered < t0 + 12 * 3600 - 72 * 60 && jittered >= t0 + 12 * 3600 - 72 * 60 - 432)
    }

    @Test func aOneHourTokenKeepsTheFiveMinuteMarginOfTokenCache() {
        let due = policy.nextRefresh(issuedAt: t0, expiresAt: t0 + 3600, jitter: 0)
        #expect(due == TokenCache.refreshAt(issuedAt: t0, expiresAt: t0 + 3600))
        #expect(due == t0 + 3600 - 360)
    }

    @Test(arguments: [20.0, 70, 120]) func aShortTokenIsRefreshedBeforeExpiry(lifetime: Double) {
        for jitter in [0.0, 0.5, 0.999] {
            let due = policy.nextRefresh(issuedAt: t0, expiresAt: t0 + lifetime, jitter: jitter)
            #expect(due < t0 + lifetime)
            #expect(due >= t0 + policy.minInterval)
            #expect(due >= t0 + lifetime / 2 - lifetime * 0.05)
        }
    }

    @Test func backoffDoublesAndIsCapped() {
        let waits = (1...10).map { policy.backoff(failures: $0, jitter: 0) }
        #expect(waits == [5, 10, 20, 40, 80, 160, 300, 300, 300, 300])
        #expect((1...20).allSatisfy { policy.backoff(failures: $0, jitter: 0.999) <= 300 })
        #expect(policy.backoff(failures: 3, jitter: 0.5) == 19)
    }

    @Test func failuresGrowTheBackoffAndASuccessResetsIt() {
        var schedule = RefreshSchedule(registries: ["r"], policy: policy, now: t0)
        var now = t0
        for expected in [5.0, 10, 20, 40] {
            schedule.failed("r", at: now, jitter: 0)
            #expect(schedule.entries["r"]?.backoff == expected)
            #expect(schedule.nextWake == now + expected)
            now = schedule.nextWake!
        }
        schedule.succeeded("r", issuedAt: now, expiresAt: now + 3600, jitter: 0)
        #expect(schedule.entries["r"]?.failures == 0 && schedule.entries["r"]?.backoff == 0)
        #expect(schedule.entries["r"]?.totalFailures == 4)
    }

    @Test func anAlreadyExpiredTokenWaitsTheMinimumInterval() {
        var schedule = RefreshSchedule(registries: ["r"], policy: policy, now: t0)
        schedule.succeeded("r", issuedAt: t0, expiresAt: t0 - 30, jitter: 0)
        #expect(schedule.nextWake == t0 + 5)
        #expect(schedule.due(at: t0 + 4.9).isEmpty)
        // Simulate a provider that always returns expired tokens for an hour: at most one mint per 5 s.
        var now = t0
        var mints = 0
        while now < t0 + 3600 {
            now = schedule.nextWake!
            schedule.succeeded("r", issuedAt: now, expiresAt: now - 1, jitter: 0.5)
            mints += 1
        }
        #expect(mints <= 3600 / 5 + 1)
    }

    @Test func theLastGoodCredentialStaysValidUntilItsExpiryWhileRefreshesFail() {
        var schedule = RefreshSchedule(registries: ["r"], policy: policy, now: t0)
        schedule.succeeded("r", issuedAt: t0, expiresAt: t0 + 60, jitter: 0)
        schedule.failed("r", at: t0 + 30, jitter: 0)
        schedule.failed("r", at: t0 + 35, jitter: 0)
        #expect(schedule.isValid("r", at: t0 + 59))
        #expect(!schedule.isValid("r", at: t0 + 60))
        #expect(schedule.entries["r"]?.expiresAt == t0 + 60)
    }

    @Test func idleMeansNoWakeUps() {
        var schedule = RefreshSchedule(registries: ["static", "ecr"], policy: policy, now: t0)
        schedule.succeeded("static", issuedAt: t0, expiresAt: nil, jitter: 0)
        schedule.succeeded("ecr", issuedAt: t0, expiresAt: t0 + 12 * 3600, jitter: 0.3)
        // Over 24 simulated hours a 12 h token costs two or three wake-ups, a static credential none.
        var now = t0
        var wakeUps = 0
        while let next = schedule.nextWake, next < t0 + 24 * 3600 {
            now = next
            wakeUps += 1
            for registry in schedule.due(at: now) {
                schedule.succeeded(registry, issuedAt: now, expiresAt: now + 12 * 3600, jitter: 0.3)
            }
        }
        #expect(wakeUps >= 2 && wakeUps <= 3)
        var onlyStatic = RefreshSchedule(registries: ["static"], policy: policy, now: t0)
        onlyStatic.succeeded("static", issuedAt: t0, expiresAt: nil, jitter: 0)
        #expect(onlyStatic.nextWake == nil)
    }
}

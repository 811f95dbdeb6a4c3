internal import Credentials
package import FoundationEssentials

/// How eagerly the refresh mints and retries. Seconds, as the config writes them.
package struct RefreshPolicy: Sendable, Equatable {
    /// No registry is minted twice within this interval, whatever its token says: a token that arrives already
    /// expired (a skewed clock, a provider bug) must not turn the sidecar into a tight loop against the provider.
    package var minInterval: Double = 5
    /// The first retry after a failure, doubled per further failure up to `retryMax`.
    package var retryInitial: Double = 5
    package var retryMax: Double = 300
    /// Refreshes happen up to this fraction of their margin early (and retries this fraction sooner), so a
    /// fleet of sidecars started together does not hit the provider in the same second forever after.
    package var jitterFraction: Double = 0.1

    package init(
        minInterval: Double = 5, retryInitial: Double = 5, retryMax: Double = 300, jitterFraction: Double = 0.1
    ) {
        self.minInterval = minInterval
        self.retryInitial = retryInitial
        self.retryMax = max(retryMax, retryInitial)
        self.jitterFraction = jitterFraction
    }

    /// When a token minted at `issuedAt` is replaced, before jitter (`RenewalPolicy.sidecar`).
    package static func refreshAt(issuedAt: Date, expiresAt: Date) -> Date {
        RenewalPolicy.sidecar.renewAt(issuedAt: issuedAt, expiresAt: expiresAt)
    }

    /// The next refresh of a token, with `jitter` in [0, 1) moving it up to `jitterFraction` of the margin
    /// earlier (never later, never past expiry), and never sooner than `minInterval` after it was minted.
    package func nextRefresh(issuedAt: Date, expiresAt: Date, jitter: Double) -> Date {
        let due = Self.refreshAt(issuedAt: issuedAt, expiresAt: expiresAt)
        let margin = max(0, expiresAt.timeIntervalSince(due))
        let jittered = due.addingTimeInterval(-margin * jitterFraction * min(max(jitter, 0), 1))
        return max(jittered, issuedAt.addingTimeInterval(minInterval))
    }

    /// The wait before retry number `failures` (1 = first retry): capped exponential, shortened by jitter.
    package func backoff(failures: Int, jitter: Double) -> Double {
        let exponent = Double(min(max(failures - 1, 0), 30))
        let base = min(retryInitial * Double(sign: .plus, exponent: Int(exponent), significand: 1), retryMax)
        return max(min(base * (1 - jitterFraction * min(max(jitter, 0), 1)), retryMax), min(minInterval, retryMax))
    }
}

/// Per registry: the last good credential's lifetime, failures since, and when to act next. Pure values —
/// the engine feeds it outcomes and the current time and asks when to wake up; nothing here sleeps or reads a
/// clock, so the rules are tested in microseconds (STYLE.md habit 7).
package struct RefreshSchedule: Sendable, Equatable {
    package struct Entry: Sendable, Equatable {
        /// When the last good credential was obtained and stops working (nil expiry: no known lifetime).
        package var issuedAt: Date?
        package var expiresAt: Date?
        package var hasCredential = false
        package var lastSuccess: Date?
        /// Consecutive failures since the last success.
        package var failures = 0
        /// The wait chosen after the last failure; 0 while healthy.
        package var backoff: Double = 0
        package var totalFailures = 0
        /// nil: nothing to do until something external happens (a credential without expiry).
        package var nextDue: Date?
    }

    package let policy: RefreshPolicy
    package private(set) var entries: [String: Entry]

    /// Every registry due at `now`: the first pass writes everything before reporting ready.
    package init(registries: [String], policy: RefreshPolicy, now: Date) {
        self.policy = policy
        var entries = [String: Entry]()
        for registry in registries { entries[registry] = Entry(nextDue: now) }
        self.entries = entries
    }

    package var registries: [String] { entries.keys.sorted() }

    package func due(at now: Date) -> [String] {
        entries.filter { $0.value.nextDue.map { $0 <= now } ?? false }.map(\.key).sorted()
    }

    /// The earliest moment anything is due; nil when nothing ever is (sleep until a signal).
    package var nextWake: Date? { entries.values.compactMap(\.nextDue).min() }

    package mutating func succeeded(_ registry: String, issuedAt: Date, expiresAt: Date?, jitter: Double) {
        var entry = entries[registry] ?? Entry()
        entry.issuedAt = issuedAt
        entry.expiresAt = expiresAt
        entry.hasCredential = true
        entry.lastSuccess = issuedAt
        entry.failures = 0
        entry.backoff = 0
        entry.nextDue = expiresAt.map { policy.nextRefresh(issuedAt: issuedAt, expiresAt: $0, jitter: jitter) }
        entries[registry] = entry
    }

    /// A failed refresh: retry after the backoff. The last good credential stays (and keeps being served)
    /// until it expires; the retry is never scheduled sooner than `minInterval`.
    package mutating func failed(_ registry: String, at now: Date, jitter: Double) {
        var entry = entries[registry] ?? Entry()
        entry.failures += 1
        entry.totalFailures += 1
        entry.backoff = policy.backoff(failures: entry.failures, jitter: jitter)
        entry.nextDue = now.addingTimeInterval(entry.backoff)
        entries[registry] = entry
    }

    /// Whether `registry` holds a credential that still works at `now`.
    package func isValid(_ registry: String, at now: Date) -> Bool {
        guard let entry = entries[registry], entry.hasCredential else { return false }
        return entry.expiresAt.map { $0 > now } ?? true
    }
}

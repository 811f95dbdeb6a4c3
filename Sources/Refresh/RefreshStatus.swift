public import FoundationEssentials
import Prometheus
import Synchronization

/// What the health endpoints report, published by the engine after every pass and read by the HTTP server's
/// thread; readiness is judged at request time, so a credential that expires while the loop sleeps turns
/// `/readyz` to 503 without any wake-up of the loop.
public final class RefreshStatus: Sendable {
    public struct OutputState: Sendable, Equatable {
        public var name: String
        public var registries: [String]
        /// nil until the first attempt; false after a failed write.
        public var lastWriteSucceeded: Bool?
    }

    struct Snapshot {
        var schedule: RefreshSchedule.Entry.Table = [:]
        var outputs: [OutputState] = []
    }

    private let snapshot = Mutex(Snapshot())
    /// Per-registry series; labels are registry hosts, never credentials.
    let metrics = PrometheusCollectorRegistry()

    public init() {}

    func publish(schedule: RefreshSchedule, outputs: [OutputState], newFailures: [String]) {
        snapshot.withLock {
            $0.schedule = schedule.entries
            $0.outputs = outputs
        }
        for (registry, entry) in schedule.entries {
            let labels = [("registry", registry)]
            metrics.makeGauge(
                name: "ocicred_refresh_credential_expiry_timestamp_seconds", labels: labels,
                help: "When the credential last written for the registry expires (unix seconds; 0 = no expiry known)."
            ).set(entry.expiresAt?.timeIntervalSince1970 ?? 0)
            metrics.makeGauge(
                name: "ocicred_refresh_last_success_timestamp_seconds", labels: labels,
                help: "When a credential was last obtained for the registry (unix seconds)."
            ).set(entry.lastSuccess?.timeIntervalSince1970 ?? 0)
            metrics.makeGauge(
                name: "ocicred_refresh_backoff_seconds", labels: labels,
                help: "The current wait before the next retry after failures (0 while healthy)."
            ).set(entry.backoff)
            let failures = metrics.makeCounter(
                name: "ocicred_refresh_failures_total", labels: labels,
                help: "Failed attempts to obtain a credential for the registry.")
            if newFailures.contains(registry) { failures.increment() }
        }
    }

    /// Every output's last write succeeded (or was deliberately skipped by a standby) and every registry of
    /// every output holds a credential that is unexpired at `now`.
    public func isReady(at now: Date = Date()) -> Bool {
        snapshot.withLock { snapshot in
            guard !snapshot.outputs.isEmpty else { return false }
            return snapshot.outputs.allSatisfy { output in
                output.lastWriteSucceeded == true
                    && output.registries.allSatisfy { registry in
                        guard let entry = snapshot.schedule[registry], entry.hasCredential else { return false }
                        return entry.expiresAt.map { $0 > now } ?? true
                    }
            }
        }
    }

    /// The Prometheus text exposition of the series above.
    public func metricsText() -> [UInt8] {
        var buffer = [UInt8]()
        metrics.emit(into: &buffer)
        return buffer
    }
}

extension RefreshSchedule.Entry {
    typealias Table = [String: RefreshSchedule.Entry]
}

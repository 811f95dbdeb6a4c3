package import FoundationEssentials
internal import Prometheus
internal import Synchronization
internal import SystemSupport

/// What the health endpoints report, published by the engine after every pass and read by the HTTP server's
/// thread; readiness is judged at request time, so a credential that expires while the loop sleeps turns
/// `/readyz` to 503 without any wake-up of the loop.
package final class RefreshStatus: Sendable {
    package struct OutputState: Sendable, Equatable {
        package var name: String
        package var registries: [String]
        /// nil until the first attempt; false after a failed write.
        package var lastWriteSucceeded: Bool?
    }

    struct Snapshot {
        var schedule: RefreshSchedule.Entry.Table = [:]
        var outputs: [OutputState] = []
        /// Per watch the controller needs: why it is not open now (nil: open).
        var watches: [String: String?] = [:]
    }

    let snapshot = Mutex(Snapshot())
    /// Per-registry series; labels are registry hosts, never credentials.
    let metrics = PrometheusCollectorRegistry()

    package init(version: String = "unknown") {
        metrics.makeGauge(
            name: "ocicred_build_info", labels: [("version", version)],
            help: "Always 1; the labels say which ocicred is running."
        ).set(Int64(1))
    }

    /// A SIGHUP reload: `succeeded` false when the new config was refused and the old one kept.
    package func recordReload(succeeded: Bool) {
        metrics.makeCounter(
            name: "ocicred_refresh_config_reloads_total", labels: [("result", succeeded ? "success" : "failure")],
            help: "Config reloads (SIGHUP); a failed one keeps the previous config."
        ).increment()
    }

    func publish(
        schedule: RefreshSchedule, outputs: [OutputState], newFailures: [String], written: [String] = [],
        failedOutputs: [String] = []
    ) {
        snapshot.withLock {
            $0.schedule = schedule.entries
            $0.outputs = outputs
        }
        for (names, result) in [(written, "success"), (failedOutputs, "failure")] {
            for name in names {
                metrics.makeCounter(
                    name: "ocicred_refresh_output_writes_total", labels: [("output", name), ("result", result)],
                    help: "Writes of each output (auth file, Secret) by result."
                ).increment()
            }
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
    package func isReady(at now: Date = Date()) -> Bool { notReadyReasons(at: now).isEmpty }

    /// Why `/readyz` says 503, one reason per failing output and registry; empty when ready.
    package func notReadyReasons(at now: Date = Date()) -> [String] {
        snapshot.withLock { snapshot in
            guard !snapshot.outputs.isEmpty else { return ["no output has been configured or planned yet"] }
            var reasons = [String]()
            for (watch, problem) in snapshot.watches.sorted(by: { $0.key < $1.key }) {
                if let problem { reasons.append("watch \(watch): \(problem)") }
            }
            var registries = Set<String>()
            for output in snapshot.outputs {
                switch output.lastWriteSucceeded {
                case nil: reasons.append("output \(output.name): not written yet")
                case false?: reasons.append("output \(output.name): the last write failed")
                default: break
                }
                registries.formUnion(output.registries)
            }
            for registry in registries.sorted() {
                guard let entry = snapshot.schedule[registry], entry.hasCredential else {
                    reasons.append("registry \(registry): no credential obtained yet")
                    continue
                }
                if let expiresAt = entry.expiresAt, expiresAt <= now {
                    reasons.append("registry \(registry): its credential expired at \(RFC3339.format(expiresAt))")
                }
            }
            return reasons
        }
    }

    /// The Prometheus text exposition of the series above.
    package func metricsText() -> [UInt8] {
        var buffer = [UInt8]()
        metrics.emit(into: &buffer)
        return buffer
    }
}

extension RefreshSchedule.Entry {
    typealias Table = [String: RefreshSchedule.Entry]
}

internal import Prometheus

/// What the controller adds to health and metrics: readiness fails while any of its watches is not open (its
/// cache, and so its reaction to a change, would be stale), and series for what it manages and how it fares.
extension RefreshStatus {
    /// `problem` nil: the watch is open; otherwise why it is not (readiness reports it).
    func setWatch(_ watch: String, problem: String?) {
        snapshot.withLock { $0.watches[watch] = .some(problem) }
    }

    func removeWatches(_ watches: [String]) {
        snapshot.withLock { snapshot in for watch in watches { snapshot.watches[watch] = nil } }
    }

    func recordWatchRestart(resource: String, reason: String) {
        metrics.makeCounter(
            name: "ocicred_refresh_watch_restarts_total", labels: [("resource", resource), ("reason", reason)],
            help: "Watches that had to start again: failed (reconnected with backoff) or expired (listed again)."
        ).increment()
    }

    func recordConflict(output: String) {
        metrics.makeCounter(
            name: "ocicred_refresh_conflicts_total", labels: [("output", output)],
            help: "Secrets of an output's name that ocicred did not create, left untouched (counted once each)."
        ).increment()
    }

    func setManaged(output: String, kind: String, count: Int) {
        metrics.makeGauge(
            name: "ocicred_refresh_managed_objects", labels: [("output", output), ("kind", kind)],
            help: "Objects the controller keeps: its Secrets, and ServiceAccounts naming them."
        ).set(Int64(count))
    }

    func observeReconcile(_ duration: Duration) {
        metrics.makeDurationHistogram(
            name: "ocicred_refresh_reconcile_seconds",
            buckets: [
                .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                .seconds(1), .seconds(2), .seconds(5),
            ],
            help: "From a watch event (or a renewal) to the cluster matching the config again."
        ).record(duration)
    }
}

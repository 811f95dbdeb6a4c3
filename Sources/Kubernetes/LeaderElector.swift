package import FoundationEssentials

/// Lease-based leader election, as client-go's `leaderelection.LeaderElector` does it, so one replica of an HA
/// refresh Deployment writes Secrets and the others stand by.
///
/// Expiry is judged by *our* clock: a lease held by someone else counts as expired only when `leaseDuration`
/// has passed since we last saw its record change (client-go's `observedTime`), never by comparing the
/// holder's `renewTime` with our clock — nodes' clocks drift. The caller runs the loop: call
/// `tryAcquireOrRenew()` every `retryPeriod`; while leading, stop acting when `leadingUntil` has passed
/// without a successful renewal.
package actor LeaderElector {
    /// client-go's defaults (`LeaseDuration` 15 s, `RenewDeadline` 10 s, `RetryPeriod` 2 s).
    package static let defaultLeaseDuration: Duration = .seconds(15)
    package static let defaultRetryPeriod: Duration = .seconds(2)

    package nonisolated let namespace: String
    package nonisolated let name: String
    package nonisolated let identity: String
    package nonisolated let leaseDuration: Duration
    private let client: KubernetesClient
    private let now: @Sendable () -> Date
    private var observedRecord: LeaseRecord?
    private var observedAt: Date?
    /// When the last successful acquire or renew started, plus the lease duration: until then no other
    /// candidate can have taken over.
    package private(set) var leadingUntil: Date?

    package init(
        client: KubernetesClient, namespace: String, name: String, identity: String,
        leaseDuration: Duration = defaultLeaseDuration, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.now = now
    }

    /// Whether we held the lease at our last successful acquire or renew and it has not run out since.
    package var isLeader: Bool {
        guard observedRecord?.holderIdentity == identity, let leadingUntil else { return false }
        return now() < leadingUntil
    }

    private var leaseSeconds: Int { max(1, Int(leaseDuration.components.seconds)) }

    /// One round: take the lease if it is free, expired or ours; true when we hold it afterwards. A 409 on
    /// create or update means another candidate won this round: false, not an error.
    package func tryAcquireOrRenew() async throws(KubernetesError) -> Bool {
        let start = now()
        var record = LeaseRecord(
            holderIdentity: identity, leaseDurationSeconds: leaseSeconds, acquireTime: start, renewTime: start)
        guard let existing = try await client.lease(namespace: namespace, name: name) else {
            do {
                _ = try await client.createLease(namespace: namespace, name: name, record: record)
            } catch .alreadyExists {
                return false
            } catch {
                throw error
            }
            return took(record, at: start)
        }
        let current = LeaseRecord(spec: existing["spec"]?.objectValue ?? [:])
        if current != observedRecord { observe(current, at: start) }
        let holdsIt = current.holderIdentity == identity
        if !current.holderIdentity.isEmpty, !holdsIt, let observedAt {
            // The holder's own duration decides, as it wrote it; ours only when it wrote none.
            let duration =
                current.leaseDurationSeconds > 0 ? Double(current.leaseDurationSeconds) : leaseDuration.timeInterval
            if observedAt + duration > start { return false }
        }
        if holdsIt {
            record.acquireTime = current.acquireTime ?? start
            record.leaseTransitions = current.leaseTransitions
        } else {
            record.leaseTransitions = current.leaseTransitions + 1
        }
        do {
            _ = try await client.updateLease(existing, namespace: namespace, name: name, record: record)
        } catch .conflict {
            return false
        } catch {
            throw error
        }
        return took(record, at: start)
    }

    /// What the API server accepted our write of `record` means, whether it created or renewed the lease: we lead
    /// for one lease duration from when we asked.
    private func took(_ record: LeaseRecord, at start: Date) -> Bool {
        observe(record, at: start)
        leadingUntil = start + leaseDuration.timeInterval
        return true
    }

    /// Gives the lease up (client-go's `ReleaseOnCancel`): an empty holder, so a standby takes over at once
    /// instead of waiting out the duration. Does nothing unless we hold it.
    package func release() async throws(KubernetesError) {
        guard isLeader, let existing = try await client.lease(namespace: namespace, name: name) else { return }
        let current = LeaseRecord(spec: existing["spec"]?.objectValue ?? [:])
        guard current.holderIdentity == identity else { return }
        let released = LeaseRecord(
            holderIdentity: "", leaseDurationSeconds: 1, acquireTime: nil, renewTime: now(),
            leaseTransitions: current.leaseTransitions)
        _ = try await client.updateLease(existing, namespace: namespace, name: name, record: released)
        observe(released, at: now())
        leadingUntil = nil
    }

    private func observe(_ record: LeaseRecord, at time: Date) {
        observedRecord = record
        observedAt = time
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

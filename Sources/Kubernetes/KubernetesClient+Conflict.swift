internal import Credentials

extension KubernetesClient {
    /// What one read-modify-write attempt did: finished with a value, or lost a race (409 Conflict, or 409
    /// AlreadyExists for a create) and should read again.
    enum Attempt<Value> {
        case done(Value)
        case raced
    }

    /// Optimistic concurrency as the API conventions prescribe: read, modify and write with the read
    /// `resourceVersion`, and on a lost race read again, `conflictAttempts` times, then report the conflict.
    /// The one retry loop for every object ocicred writes (Secrets, ServiceAccounts).
    func retryingConflicts<Value>(
        resource: String, namespace: String, name: String,
        _ attempt: () async throws(KubernetesError) -> Attempt<Value>
    ) async throws(KubernetesError) -> Value {
        for number in 1...conflictAttempts {
            let outcome: Attempt<Value>
            do {
                outcome = try await attempt()
            } catch .conflict, .alreadyExists {
                outcome = .raced
            }
            switch outcome {
            case .done(let value): return value
            case .raced:
                logger.info(
                    "\(resource) changed since read; writing again",
                    metadata: ["object": "\(namespace)/\(name)", "attempt": "\(number)"])
            }
        }
        throw .conflict(resource: resource, namespace: namespace, name: name, attempts: conflictAttempts)
    }
}

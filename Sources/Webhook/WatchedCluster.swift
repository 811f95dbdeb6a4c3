internal import Kubernetes
internal import Logging
internal import Synchronization
internal import SystemSupport

/// What admission decisions need from the cluster — namespaces' labels and ServiceAccounts' `imagePullSecrets` —
/// kept by list-then-watch (`Reflector`), so an admission makes no API call and answers within its timeout even
/// when the API server is slow. Read under a lock from the event loop; written by the watches.
final class WatchedCluster: Sendable {
    private struct State {
        var namespaceLabels: [String: [String: String]] = [:]
        /// "namespace/name" of each ServiceAccount → the names in its `imagePullSecrets`.
        var accountSecrets: [String: Set<String>] = [:]
    }

    private let state = Mutex(State())

    func labels(ofNamespace namespace: String) -> [String: String] {
        state.withLock { $0.namespaceLabels[namespace] ?? [:] }
    }

    func pullSecrets(namespace: String, serviceAccount: String) -> Set<String> {
        state.withLock { $0.accountSecrets[namespace + "/" + serviceAccount] ?? [] }
    }

    /// Watches namespaces and ServiceAccounts until the task is cancelled.
    func run(client: KubernetesClient, logger: Logger) async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                await Reflector(client: client, query: .namespaces, logger: logger).run { change in
                    self.applyNamespaces(change)
                }
            }
            group.addTask {
                await Reflector(client: client, query: .serviceAccounts(named: nil), logger: logger).run { change in
                    self.applyServiceAccounts(change)
                }
            }
        }
    }

    private func applyNamespaces(_ change: Reflector.Change) {
        state.withLock { state in
            switch change {
            case .replaced(let items):
                state.namespaceLabels = [:]
                for item in items { if let name = item.name { state.namespaceLabels[name] = item.labels } }
            case .upserted(let item): if let name = item.name { state.namespaceLabels[name] = item.labels }
            case .deleted(let item): if let name = item.name { state.namespaceLabels[name] = nil }
            case .established, .lost, .relisted: break
            }
        }
    }

    private func applyServiceAccounts(_ change: Reflector.Change) {
        func key(_ item: [String: JSONValue]) -> String? {
            guard let namespace = item.namespace, let name = item.name else { return nil }
            return namespace + "/" + name
        }
        func secrets(_ item: [String: JSONValue]) -> Set<String> {
            guard case .array(let entries)? = item["imagePullSecrets"] else { return [] }
            return Set(entries.compactMap { $0["name"]?.stringValue })
        }
        state.withLock { state in
            switch change {
            case .replaced(let items):
                state.accountSecrets = [:]
                for item in items { if let key = key(item) { state.accountSecrets[key] = secrets(item) } }
            case .upserted(let item): if let key = key(item) { state.accountSecrets[key] = secrets(item) }
            case .deleted(let item): if let key = key(item) { state.accountSecrets[key] = nil }
            case .established, .lost, .relisted: break
            }
        }
    }
}

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

    /// One watched object as the decisions need it: its key ("name", or "namespace/name") and one value.
    private struct Kept<Value: Sendable>: Sendable {
        let key: String
        let value: Value
    }

    /// Watches namespaces and ServiceAccounts until the task is cancelled; of each object only its labels, or its
    /// pull-secret names, is kept (Reflector hands them on page by page).
    func run(client: KubernetesClient, logger: Logger) async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                let namespaces = Reflector(client: client, query: .namespaces, logger: logger) { object in
                    object.name.map { Kept(key: $0, value: object.labels) }
                }
                await namespaces.run { change in self.apply(change, to: \.namespaceLabels) }
            }
            group.addTask {
                let accounts = Reflector(client: client, query: .serviceAccounts(named: nil), logger: logger) {
                    object -> Kept<Set<String>>? in
                    guard let namespace = object.namespace, let name = object.name else { return nil }
                    return Kept(
                        key: namespace + "/" + name, value: Set(KubernetesClient.imagePullSecretNames(object)))
                }
                await accounts.run { change in self.apply(change, to: \.accountSecrets) }
            }
        }
    }

    private func apply<Value: Sendable>(
        _ change: Reflector<Kept<Value>>.Change, to table: WritableKeyPath<State, [String: Value]>
    ) {
        state.withLock { state in
            switch change {
            case .replaced(let items):
                state[keyPath: table] = Dictionary(items.map { ($0.key, $0.value) }) { $1 }
            case .upserted(let item): state[keyPath: table][item.key] = item.value
            case .deleted(let item): state[keyPath: table][item.key] = nil
            case .established, .lost, .relisted: break
            }
        }
    }
}

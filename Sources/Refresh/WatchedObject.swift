internal import Kubernetes
internal import SystemSupport

/// What `SecretController` keeps of one watched object: only what its decisions and its writes need. A cluster
/// of a thousand namespaces has a thousand Secrets and thousands of ServiceAccounts; kept as parsed JSON they cost
/// the controller several kilobytes each, kept like this a few hundred bytes.
enum WatchedObject: Sendable {
    case namespace(name: String, labels: [String: String])
    /// One of our Secrets as a PUT sends it back: without what the API server manages itself.
    case secret(namespace: String, object: [String: JSONValue])
    case serviceAccount(WatchedServiceAccount)

    /// `object` as a `resource` watch delivers it; nil when it lacks its name (or namespace).
    init?(_ object: [String: JSONValue], resource: String) {
        guard let name = object.name else { return nil }
        switch resource {
        case "namespaces":
            self = .namespace(name: name, labels: object.labels)
        case "secrets":
            guard let namespace = object.namespace else { return nil }
            self = .secret(namespace: namespace, object: Self.kept(secret: object))
        default:
            guard let account = WatchedServiceAccount(object) else { return nil }
            self = .serviceAccount(account)
        }
    }

    /// The API server fills these in and ignores them in an update; `managedFields` alone is often larger than
    /// the rest of the Secret.
    static let serverManagedMetadata: Set<String> = [
        "managedFields", "uid", "creationTimestamp", "generation", "selfLink",
    ]

    static func kept(secret object: [String: JSONValue]) -> [String: JSONValue] {
        guard case .object(var metadata)? = object["metadata"] else { return object }
        var kept = object
        for key in serverManagedMetadata { metadata[key] = nil }
        kept["metadata"] = .object(metadata)
        return kept
    }
}

/// A ServiceAccount as the controller needs it: where it is, its resourceVersion (the precondition of a patch) and
/// the names in its `imagePullSecrets` (the only field ocicred ever changes).
struct WatchedServiceAccount: Sendable, Equatable {
    let namespace: String
    let name: String
    let resourceVersion: String?
    let pullSecrets: [String]

    init?(_ object: [String: JSONValue]) {
        guard let name = object.name, let namespace = object.namespace else { return nil }
        self.namespace = namespace
        self.name = name
        resourceVersion = object.resourceVersionValue
        pullSecrets = KubernetesClient.imagePullSecretNames(object)
    }

    var key: String { namespace + "/" + name }

    /// The object `KubernetesClient.setImagePullSecret` patches from: a pull-secret entry holds only a name.
    var object: [String: JSONValue] {
        var metadata: [String: JSONValue] = ["name": .string(name), "namespace": .string(namespace)]
        if let resourceVersion { metadata["resourceVersion"] = .string(resourceVersion) }
        var object: [String: JSONValue] = ["metadata": .object(metadata)]
        if !pullSecrets.isEmpty {
            object["imagePullSecrets"] = .array(pullSecrets.map { .object(["name": .string($0)]) })
        }
        return object
    }
}

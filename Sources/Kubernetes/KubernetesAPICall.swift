/// One (verb, resource) pair the client sends, in RBAC's words (Kubernetes API concepts, "API verbs": GET on
/// a named object is `get`, on a collection `list`; POST `create`; PUT `update`; PATCH `patch`).
///
/// `all` is the complete table: every request goes through `KubernetesClient.send`, which asserts its call is
/// listed here; KubernetesTests prove the table equals what the fixture API server saw, and that the RBAC in
/// manifests/ grants exactly this — so least privilege cannot drift from the code.
public struct KubernetesAPICall: Hashable, Sendable, CustomStringConvertible {
    public let verb: String
    /// The API group, "" for the core group.
    public let group: String
    public let resource: String

    public init(_ verb: String, _ resource: String, group: String = "") {
        self.verb = verb
        self.resource = resource
        self.group = group
    }

    public var description: String { group.isEmpty ? "\(verb) \(resource)" : "\(verb) \(resource).\(group)" }

    static let getSecret = KubernetesAPICall("get", "secrets")
    static let createSecret = KubernetesAPICall("create", "secrets")
    static let updateSecret = KubernetesAPICall("update", "secrets")
    static let listNamespaces = KubernetesAPICall("list", "namespaces")
    static let getServiceAccount = KubernetesAPICall("get", "serviceaccounts")
    static let patchServiceAccount = KubernetesAPICall("patch", "serviceaccounts")
    static let getLease = KubernetesAPICall("get", "leases", group: "coordination.k8s.io")
    static let createLease = KubernetesAPICall("create", "leases", group: "coordination.k8s.io")
    static let updateLease = KubernetesAPICall("update", "leases", group: "coordination.k8s.io")

    static let deleteSecret = KubernetesAPICall("delete", "secrets")
    static let listSecrets = KubernetesAPICall("list", "secrets")
    static let watchSecrets = KubernetesAPICall("watch", "secrets")
    static let watchNamespaces = KubernetesAPICall("watch", "namespaces")
    static let listServiceAccounts = KubernetesAPICall("list", "serviceaccounts")
    static let watchServiceAccounts = KubernetesAPICall("watch", "serviceaccounts")
    static let createEvent = KubernetesAPICall("create", "events")

    /// The calls of one pass (`refresh --once`, the CronJob): read, write, patch; no watch.
    public static let onePass: Set<KubernetesAPICall> = [
        getSecret, createSecret, updateSecret, listNamespaces, getServiceAccount, patchServiceAccount,
    ]

    /// What the controller adds: it lists and watches what it manages, deletes what it wrote where it no longer
    /// belongs, records an Event for a Secret it will not overwrite, and elects a leader.
    public static let controller: Set<KubernetesAPICall> = [
        deleteSecret, listSecrets, watchSecrets, watchNamespaces, listServiceAccounts, watchServiceAccounts,
        createEvent,
        getLease, createLease, updateLease,
    ]

    /// Every call the client can make.
    public static let all: Set<KubernetesAPICall> = onePass.union(controller)
}

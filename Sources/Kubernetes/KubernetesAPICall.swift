/// One (verb, resource) pair the client sends, in RBAC's words (Kubernetes API concepts, "API verbs": GET on
/// a named object is `get`, on a collection `list`; POST `create`; PUT `update`; PATCH `patch`).
///
/// `all` is the complete table: every request goes through `KubernetesClient.send`, which asserts its call is
/// listed here; KubernetesTests prove the table equals what the fixture API server saw, and that the RBAC in
/// manifests/ grants exactly this — so least privilege cannot drift from the code.
package struct KubernetesAPICall: Hashable, Sendable, CustomStringConvertible {
    package let verb: String
    /// The API group, "" for the core group.
    package let group: String
    package let resource: String

    package init(_ verb: String, _ resource: String, group: String = "") {
        self.verb = verb
        self.resource = resource
        self.group = group
    }

    package var description: String { group.isEmpty ? "\(verb) \(resource)" : "\(verb) \(resource).\(group)" }

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
    static let getWebhookConfiguration = KubernetesAPICall(
        "get", "mutatingwebhookconfigurations", group: "admissionregistration.k8s.io")
    static let updateWebhookConfiguration = KubernetesAPICall(
        "update", "mutatingwebhookconfigurations", group: "admissionregistration.k8s.io")

    /// The calls of one pass (`refresh --once`, the CronJob): read, write, patch; no watch.
    package static let onePass: Set<KubernetesAPICall> = [
        getSecret, createSecret, updateSecret, listNamespaces, getServiceAccount, patchServiceAccount,
    ]

    /// What the controller adds: it lists and watches what it manages, deletes what it wrote where it no longer
    /// belongs, records an Event for a Secret it will not overwrite, and elects a leader.
    package static let controller: Set<KubernetesAPICall> = [
        deleteSecret, listSecrets, watchSecrets, watchNamespaces, listServiceAccounts, watchServiceAccounts,
        createEvent,
        getLease, createLease, updateLease,
    ]

    /// What `ocicred refresh` can send: one pass and the controller's calls.
    package static let refresh: Set<KubernetesAPICall> = onePass.union(controller)

    /// What the refresh sends as a controller (the Deployment, never `--once`): it patches ServiceAccounts from
    /// what it watches and never GETs one; only a one-pass refresh reads a ServiceAccount before patching it.
    package static let refreshController: Set<KubernetesAPICall> = refresh.subtracting([getServiceAccount])

    /// The admission webhook's: it watches ServiceAccounts and namespaces (no GET per admission), keeps its
    /// serving certificate in one Secret, and the `caBundle` of its MutatingWebhookConfiguration in step.
    package static let webhook: Set<KubernetesAPICall> = [
        listNamespaces, watchNamespaces, listServiceAccounts, watchServiceAccounts, getSecret, createSecret,
        updateSecret, getWebhookConfiguration, updateWebhookConfiguration,
    ]

    /// Every call the client can make.
    package static let all: Set<KubernetesAPICall> = refresh.union(webhook)
}

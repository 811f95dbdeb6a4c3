internal import Credentials
internal import SystemSupport

/// `coordination.k8s.io/v1` Leases, the lock object leader election uses (Kubernetes docs, "Leases").
extension KubernetesClient {
    static func leasesPath(_ namespace: String) -> String {
        "/apis/coordination.k8s.io/v1/namespaces/\(segment(namespace))/leases"
    }

    /// The Lease, or nil on 404.
    func lease(namespace: String, name: String) async throws(KubernetesError) -> [String: JSONValue]? {
        do {
            return try await send(
                .getLease, "GET", path: Self.leasesPath(namespace) + "/" + Self.segment(name), namespace: namespace,
                name: name)
        } catch .notFound {
            return nil
        } catch {
            throw error
        }
    }

    func createLease(namespace: String, name: String, record: LeaseRecord) async throws(KubernetesError)
        -> [String: JSONValue]
    {
        let object: [String: JSONValue] = [
            "apiVersion": .string("coordination.k8s.io/v1"), "kind": .string("Lease"),
            "metadata": .object(["name": .string(name), "namespace": .string(namespace)]),
            "spec": .object(record.spec),
        ]
        return try await send(
            .createLease, "POST", path: Self.leasesPath(namespace), namespace: namespace, name: name, body: object)
    }

    /// PUT of `existing` with its spec replaced by `record`; `existing`'s resourceVersion makes a concurrent
    /// change fail with 409, which is how two candidates never both win.
    func updateLease(_ existing: [String: JSONValue], namespace: String, name: String, record: LeaseRecord)
        async throws(KubernetesError) -> [String: JSONValue]
    {
        var object = existing
        var spec = object["spec"]?.objectValue ?? [:]
        for (key, value) in record.spec { spec[key] = value }
        if record.acquireTime == nil { spec["acquireTime"] = nil }
        if record.renewTime == nil { spec["renewTime"] = nil }
        object["spec"] = .object(spec)
        return try await send(
            .updateLease, "PUT", path: Self.leasesPath(namespace) + "/" + Self.segment(name), namespace: namespace,
            name: name, body: object)
    }
}

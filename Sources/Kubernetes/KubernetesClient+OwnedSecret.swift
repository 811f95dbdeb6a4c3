internal import Credentials
internal import Crypto
package import SystemSupport

/// The controller's writes: it knows each object from its watch, so it writes without reading first, with the
/// watched `resourceVersion` as the precondition — a 409 means the watch is about to deliver something newer,
/// and the controller acts on that instead.
extension KubernetesClient {
    /// The label that marks a Secret as ocicred's: the controller watches only Secrets that carry it, and never
    /// writes one that does not.
    package static let managedByKey = "app.kubernetes.io/managed-by"
    package static let managedByValue = "ocicred"

    /// A new `kubernetes.io/dockerconfigjson` Secret holding `dockerConfigJSON`; `.alreadyExists` when one of
    /// that name is there (ours or not: the caller decides).
    package func createDockerConfigSecret(
        namespace: String, name: String, dockerConfigJSON: [UInt8], labels: [String: String],
        annotations: [String: String]
    ) async throws(KubernetesError) -> [String: JSONValue] {
        var metadata: [String: JSONValue] = [
            "name": .string(name), "namespace": .string(namespace),
            "labels": .object(labels.mapValues(JSONValue.string)),
        ]
        if !annotations.isEmpty { metadata["annotations"] = .object(annotations.mapValues(JSONValue.string)) }
        let object: [String: JSONValue] = [
            "apiVersion": .string("v1"), "kind": .string("Secret"), "metadata": .object(metadata),
            "type": .string(Self.dockerConfigJSONType),
            "data": .object([Self.dockerConfigJSONKey: .string(Base64.encode(dockerConfigJSON))]),
        ]
        return try await createSecret(object, namespace: namespace)
    }

    /// `current` (as last watched) with our data, labels and annotations, or nil when it already holds them.
    package static func restored(
        _ current: [String: JSONValue], dockerConfigJSON: [UInt8], labels: [String: String],
        annotations: [String: String]
    ) -> [String: JSONValue]? {
        let merged = merged(
            current, encodedConfig: Base64.encode(dockerConfigJSON), labels: labels, annotations: annotations)
        return merged == current ? nil : merged
    }

    /// PUT of `object`, whose resourceVersion is the precondition (409 `.conflict` when it changed since).
    package func replaceWatchedSecret(_ object: [String: JSONValue]) async throws(KubernetesError)
        -> [String: JSONValue]
    {
        let namespace = object.metadata["namespace"]?.stringValue ?? ""
        let name = object.metadata["name"]?.stringValue ?? ""
        return try await replaceSecret(object, namespace: namespace, name: name)
    }

    /// Deletes the Secret; a 404 (already gone) is success.
    package func deleteSecret(namespace: String, name: String) async throws(KubernetesError) {
        do {
            _ = try await send(
                .deleteSecret, "DELETE", path: Self.secretsPath(namespace) + "/" + Self.segment(name),
                namespace: namespace, name: name)
        } catch .notFound {
            return
        } catch {
            throw error
        }
    }

    /// The Secret as the API server holds it now, or nil.
    package func currentSecret(namespace: String, name: String) async throws(KubernetesError) -> [String: JSONValue]? {
        try await secret(namespace: namespace, name: name)
    }

    /// The names in a ServiceAccount's `imagePullSecrets`.
    package static func imagePullSecretNames(_ account: [String: JSONValue]) -> [String] {
        guard case .array(let list)? = account["imagePullSecrets"] else { return [] }
        return list.compactMap { $0["name"]?.stringValue }
    }

    /// Adds (`adding` true) or removes `secretName` in the watched `account`'s `imagePullSecrets`, keeping every
    /// other entry, with its resourceVersion as the precondition (see `ensureImagePullSecret` for why the whole
    /// list is sent). No call when there is nothing to change (nil); else the ServiceAccount as patched.
    @discardableResult
    package func setImagePullSecret(_ account: [String: JSONValue], secretName: String, present: Bool)
        async throws(KubernetesError) -> [String: JSONValue]?
    {
        var list = [JSONValue]()
        if case .array(let current)? = account["imagePullSecrets"] { list = current }
        let has = list.contains { $0["name"]?.stringValue == secretName }
        guard has != present else { return nil }
        if present {
            list.append(.object(["name": .string(secretName)]))
        } else {
            list.removeAll { $0["name"]?.stringValue == secretName }
        }
        let namespace = account.metadata["namespace"]?.stringValue ?? ""
        let name = account.metadata["name"]?.stringValue ?? ""
        var patch: [String: JSONValue] = ["imagePullSecrets": list.isEmpty ? .null : .array(list)]
        if let version = account.resourceVersion {
            patch["metadata"] = .object(["resourceVersion": .string(version)])
        }
        return try await send(
            .patchServiceAccount, "PATCH",
            path: "/api/v1/namespaces/\(Self.segment(namespace))/serviceaccounts/\(Self.segment(name))",
            namespace: namespace, name: name, body: patch, contentType: "application/merge-patch+json")
    }
}

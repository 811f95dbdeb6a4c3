internal import Credentials
internal import Crypto
internal import FoundationEssentials
internal import SystemSupport

/// Secrets of type `kubernetes.io/dockerconfigjson` (Kubernetes docs, "Secrets", "Docker config Secrets"):
/// the shape `imagePullSecrets` and the kubelet read, written by GET, merge, PUT with the read
/// `resourceVersion` — optimistic concurrency as the API conventions prescribe — and on 409 Conflict read
/// again and re-merge, so a label another controller added in between is kept, not overwritten.
extension KubernetesClient {
    package static let dockerConfigJSONType = "kubernetes.io/dockerconfigjson"
    package static let dockerConfigJSONKey = ".dockerconfigjson"

    package enum SecretWriteOutcome: String, Sendable, Equatable {
        case created, updated, unchanged
    }

    /// Creates or updates the Secret `namespace/name` so its `.dockerconfigjson` holds `dockerConfigJSON`
    /// (a docker config.json: `{"auths":{…}}`) and it carries `labels` and `annotations` (merged into what is
    /// there). Every other key, label and annotation of an existing Secret is kept. Nothing is written when it
    /// already holds exactly that. A Secret of any other `type` is reported, never overwritten.
    package func writeDockerConfigSecret(
        namespace: String, name: String, dockerConfigJSON: [UInt8], labels: [String: String] = [:],
        annotations: [String: String] = [:]
    ) async throws(KubernetesError) -> SecretWriteOutcome {
        let encoded = Base64.encode(dockerConfigJSON)
        return try await retryingConflicts(resource: "secrets", namespace: namespace, name: name) {
            () async throws(KubernetesError) -> Attempt<SecretWriteOutcome> in
            if let existing = try await secret(namespace: namespace, name: name) {
                let type = existing["type"]?.stringValue ?? "Opaque"
                guard type == Self.dockerConfigJSONType else {
                    throw .wrongSecretType(namespace: namespace, name: name, type: type)
                }
                let merged = Self.merged(existing, encodedConfig: encoded, labels: labels, annotations: annotations)
                if merged == existing { return .done(.unchanged) }
                _ = try await replaceSecret(merged, namespace: namespace, name: name)
                return .done(.updated)
            }
            var metadata: [String: JSONValue] = ["name": .string(name), "namespace": .string(namespace)]
            if !labels.isEmpty { metadata["labels"] = .object(labels.mapValues(JSONValue.string)) }
            if !annotations.isEmpty { metadata["annotations"] = .object(annotations.mapValues(JSONValue.string)) }
            let object: [String: JSONValue] = [
                "apiVersion": .string("v1"), "kind": .string("Secret"), "metadata": .object(metadata),
                "type": .string(Self.dockerConfigJSONType),
                "data": .object([Self.dockerConfigJSONKey: .string(encoded)]),
            ]
            // AlreadyExists: created by someone else since our GET; the next attempt reads it and merges.
            _ = try await createSecret(object, namespace: namespace)
            return .done(.created)
        }
    }

    /// The decoded `.dockerconfigjson` of a Secret, or nil when the Secret or the key is missing; tests and
    /// `refresh --once` reports use it to check what a pod would get.
    package func dockerConfigJSON(namespace: String, name: String) async throws(KubernetesError) -> [UInt8]? {
        guard let object = try await secret(namespace: namespace, name: name),
            let encoded = object["data"]?[Self.dockerConfigJSONKey]?.stringValue
        else { return nil }
        return Base64.decode(encoded)
    }

    /// The Secret as the API server returns it, or nil on 404.
    func secret(namespace: String, name: String) async throws(KubernetesError) -> [String: JSONValue]? {
        do {
            return try await send(
                .getSecret, "GET", path: Self.secretsPath(namespace) + "/" + Self.segment(name), namespace: namespace,
                name: name)
        } catch .notFound {
            return nil
        } catch {
            throw error
        }
    }

    func createSecret(_ object: [String: JSONValue], namespace: String) async throws(KubernetesError)
        -> [String: JSONValue]
    {
        try await send(
            .createSecret, "POST", path: Self.secretsPath(namespace), namespace: namespace,
            name: object.metadata["name"]?.stringValue, body: object)
    }

    /// PUT of the whole object; its `metadata.resourceVersion` makes the API server refuse it with 409 when the
    /// Secret changed since it was read.
    func replaceSecret(_ object: [String: JSONValue], namespace: String, name: String) async throws(KubernetesError)
        -> [String: JSONValue]
    {
        try await send(
            .updateSecret, "PUT", path: Self.secretsPath(namespace) + "/" + Self.segment(name), namespace: namespace,
            name: name, body: object)
    }

    static func secretsPath(_ namespace: String) -> String { "/api/v1/namespaces/\(segment(namespace))/secrets" }

    /// `existing` with our data key, labels and annotations set and everything else as it was.
    static func merged(
        _ existing: [String: JSONValue], encodedConfig: String, labels: [String: String],
        annotations: [String: String]
    ) -> [String: JSONValue] {
        var object = existing
        var data = object["data"]?.objectValue ?? [:]
        data[dockerConfigJSONKey] = .string(encodedConfig)
        object["data"] = .object(data)
        var metadata = object.metadata
        for (field, values) in [("labels", labels), ("annotations", annotations)] where !values.isEmpty {
            var current = metadata[field]?.objectValue ?? [:]
            for (key, value) in values { current[key] = .string(value) }
            metadata[field] = .object(current)
        }
        object.metadata = metadata
        return object
    }
}

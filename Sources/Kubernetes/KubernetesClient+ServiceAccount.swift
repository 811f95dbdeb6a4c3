internal import Credentials
internal import SystemSupport

/// A ServiceAccount's `imagePullSecrets`, so pods that name no pull secret still get the refreshed one.
///
/// `imagePullSecrets` has no strategic-merge key in core/v1 (only `secrets` has one), so any patch replaces
/// the whole list: we send a JSON merge patch (RFC 7386) with the full list we read plus ours, and the read
/// `resourceVersion`, which makes the API server refuse the patch with 409 if the list changed meanwhile.
extension KubernetesClient {
    /// Adds `secretName` to the ServiceAccount's `imagePullSecrets` unless it is there; true when it patched.
    @discardableResult
    package func ensureImagePullSecret(namespace: String, serviceAccount: String, secretName: String)
        async throws(KubernetesError) -> Bool
    {
        let path = "/api/v1/namespaces/\(Self.segment(namespace))/serviceaccounts/\(Self.segment(serviceAccount))"
        return try await retryingConflicts(resource: "serviceaccounts", namespace: namespace, name: serviceAccount) {
            () async throws(KubernetesError) -> Attempt<Bool> in
            let account = try await send(
                .getServiceAccount, "GET", path: path, namespace: namespace, name: serviceAccount)
            var list = [JSONValue]()
            if case .array(let current)? = account["imagePullSecrets"] { list = current }
            if list.contains(where: { $0["name"]?.stringValue == secretName }) { return .done(false) }
            list.append(.object(["name": .string(secretName)]))
            var patch: [String: JSONValue] = ["imagePullSecrets": .array(list)]
            if let version = account.resourceVersion {
                patch["metadata"] = .object(["resourceVersion": .string(version)])
            }
            _ = try await send(
                .patchServiceAccount, "PATCH", path: path, namespace: namespace, name: serviceAccount, body: patch,
                contentType: "application/merge-patch+json")
            return .done(true)
        }
    }
}

package import Transport

/// What can go wrong talking to the Kubernetes API. Each message names the object and what to do next (fix
/// RBAC, trust the CA, rename the Secret); none carries a token or Secret data — the API server's own Status
/// messages never echo Secret values, and request bodies are never quoted.
package enum KubernetesError: Error, Equatable, CustomStringConvertible {
    /// Neither an in-cluster service account nor a usable kubeconfig was found, or the kubeconfig asks for
    /// an authentication method ocicred does not implement.
    case configuration(String)
    case tokenUnreadable(path: String, reason: String)
    case transport(server: String, HTTPError)
    /// 401: the bearer token was refused even after re-reading its file.
    case unauthorized(server: String, message: String)
    /// 403: RBAC does not grant `verb` on `resource`.
    case forbidden(verb: String, resource: String, namespace: String?, message: String)
    case notFound(resource: String, namespace: String?, name: String)
    /// 409 Conflict that persisted through every GET-merge-retry round.
    case conflict(resource: String, namespace: String?, name: String, attempts: Int)
    case alreadyExists(resource: String, namespace: String?, name: String)
    /// The Secret exists with another `type`: it belongs to someone else and is never overwritten (the type of
    /// a Secret is immutable, and its data means something else to its owner).
    case wrongSecretType(namespace: String, name: String, type: String)
    /// Any other failure Status (`reason` as the API server gave it, e.g. Invalid, BadRequest).
    case api(code: Int, reason: String, message: String, verb: String, resource: String)
    case invalidResponse(resource: String, reason: String)

    package var description: String {
        switch self {
        case .configuration(let detail):
            return "kubernetes: \(detail)"
        case .tokenUnreadable(let path, let reason):
            return "kubernetes: cannot read the service-account token file \(path): \(reason)"
        case .transport(let server, let error):
            return "kubernetes API \(server): \(error.description)"
        case .unauthorized(let server, let message):
            return "kubernetes API \(server) refused the bearer token (401 \(message)); the token file may be stale "
                + "or belong to another cluster"
        case .forbidden(let verb, let resource, let namespace, let message):
            let scope = namespace.map { " in namespace \($0)" } ?? " cluster-wide"
            return "kubernetes: not allowed to \(verb) \(resource)\(scope) (\(message)); grant it in the Role or "
                + "ClusterRole bound to this service account (see manifests/)"
        case .notFound(let resource, let namespace, let name):
            return "kubernetes: \(resource) \(Self.qualified(namespace, name)) not found"
        case .conflict(let resource, let namespace, let name, let attempts):
            return "kubernetes: \(resource) \(Self.qualified(namespace, name)) kept changing under us "
                + "(409 Conflict on \(attempts) attempts); another writer is updating it continuously"
        case .alreadyExists(let resource, let namespace, let name):
            return "kubernetes: \(resource) \(Self.qualified(namespace, name)) already exists"
        case .wrongSecretType(let namespace, let name, let type):
            return
                "kubernetes: Secret \(namespace)/\(name) already exists with type \(type), not the one ocicred writes "
                + "there (kubernetes.io/dockerconfigjson for pull credentials, kubernetes.io/tls for the webhook's "
                + "certificate); it is left untouched: choose another secret name or delete it"
        case .api(let code, let reason, let message, let verb, let resource):
            return "kubernetes: \(verb) \(resource) failed: \(code) \(reason): \(message)"
        case .invalidResponse(let resource, let reason):
            return "kubernetes: unexpected answer for \(resource): \(reason)"
        }
    }

    private static func qualified(_ namespace: String?, _ name: String) -> String {
        namespace.map { "\($0)/\(name)" } ?? name
    }
}

package import Credentials
internal import FoundationEssentials
package import SystemSupport

/// Where the API server is, how to trust it and how to authenticate: what client-go's `rest.Config` holds for
/// the two cases ocicred supports — a pod's service account (`rest.InClusterConfig`) and a kubeconfig file's
/// current context with a bearer token.
package struct ClusterConfig: Sendable, Equatable {
    /// How the bearer token is obtained.
    package enum Token: Sendable, Equatable {
        /// Re-read periodically: projected service-account tokens are rotated by the kubelet (KEP-1205), so a
        /// token read once at start-up expires under a long-running sidecar.
        case file(String)
        case inline(Secret)
        case none
    }

    /// `https://host:port`, without a trailing slash.
    package var server: String
    /// A PEM bundle that signs the API server's certificate (the cluster's own CA, not in the system store).
    package var caFile: String?
    /// The same as PEM data (a kubeconfig's `certificate-authority-data`), handed to the transport in memory.
    package var caCertificates: [UInt8]?
    package var insecureSkipTLSVerify: Bool
    package var token: Token
    /// The namespace objects default to: the pod's own, or the kubeconfig context's (else `default`).
    package var namespace: String
    /// "in-cluster" or the kubeconfig path, for messages.
    package var origin: String

    package init(
        server: String, caFile: String? = nil, caCertificates: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false,
        token: Token,
        namespace: String = "default", origin: String = "explicit"
    ) {
        var server = server
        while server.hasSuffix("/") { server.removeLast() }
        self.server = server
        self.caFile = caFile
        self.caCertificates = caCertificates
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.token = token
        self.namespace = namespace
        self.origin = origin
    }

    /// The service-account directory every pod gets (Kubernetes docs, "Accessing the Kubernetes API from a
    /// Pod"); OCICRED_KUBE_SERVICEACCOUNT_DIR points tests (or an unusual mount) elsewhere.
    static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// In-cluster when KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are set (as the kubelet sets them
    /// in every container), else the kubeconfig: the first existing file of KUBECONFIG's list, else
    /// `~/.kube/config`. (client-go merges every KUBECONFIG file; the first one holding the current context is
    /// what one-file setups, the common case, need.)
    package static func load(environment: OcicredEnvironment) throws(KubernetesError) -> ClusterConfig {
        if environment["KUBERNETES_SERVICE_HOST"] != nil, environment["KUBERNETES_SERVICE_PORT"] != nil {
            return try inCluster(environment: environment)
        }
        let candidates =
            environment["KUBECONFIG"].map { $0.split(separator: ":").map(String.init) }
            ?? [environment.home + "/.kube/config"]
        for path in candidates where FileIO.exists(path) {
            return try Kubeconfig.load(path: path)
        }
        throw .configuration(
            "not running in a pod (KUBERNETES_SERVICE_HOST is unset) and no kubeconfig at "
                + candidates.joined(separator: ", ") + "; set KUBECONFIG")
    }

    /// client-go's `InClusterConfig`: `https://` + host:port (IPv6 in brackets), the token file, the CA
    /// file and the namespace file of the mounted service account.
    package static func inCluster(environment: OcicredEnvironment) throws(KubernetesError) -> ClusterConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"]
        else {
            throw .configuration("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set in a pod")
        }
        let directory = environment["OCICRED_KUBE_SERVICEACCOUNT_DIR"] ?? serviceAccountDirectory
        let tokenFile = directory + "/token"
        guard FileIO.exists(tokenFile) else {
            throw .configuration(
                "no service-account token at \(tokenFile); is automountServiceAccountToken "
                    + "false for this pod?")
        }
        let caFile = directory + "/ca.crt"
        var namespace = "default"
        if let bytes = try? FileIO.read(directory + "/namespace", limit: 4096) {
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty { namespace = text }
        }
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return ClusterConfig(
            server: "https://" + authority, caFile: FileIO.exists(caFile) ? caFile : nil,
            token: .file(tokenFile), namespace: namespace, origin: "in-cluster")
    }
}

internal import Credentials
internal import Crypto
internal import FoundationEssentials
internal import SystemSupport
internal import Yams

/// The subset of a kubeconfig file (Kubernetes docs, "Organizing Cluster Access Using kubeconfig Files") a
/// token-authenticated client needs: current-context → cluster (server, certificate-authority[-data],
/// insecure-skip-tls-verify) and user (token, tokenFile). Client certificates and exec plugins are reported,
/// not silently ignored, so a user never wonders why requests go out unauthenticated.
enum Kubeconfig {
    static func load(path: String) throws(KubernetesError) -> ClusterConfig {
        let text: String?
        do {
            text = try FileIO.readText(path, limit: 4 << 20)
        } catch {
            throw .configuration("cannot read kubeconfig \(error.description)")
        }
        guard let text else { throw .configuration("no kubeconfig at \(path)") }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws(KubernetesError) -> ClusterConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw .configuration("kubeconfig \(path) is not YAML: \(error)")
        }
        guard let root, case .mapping = root else { throw .configuration("kubeconfig \(path) is empty") }
        guard let contextName = root["current-context"]?.string, !contextName.isEmpty else {
            throw .configuration("kubeconfig \(path) has no current-context; run `kubectl config use-context`")
        }
        guard let context = named(root["contexts"], contextName)?["context"] else {
            throw .configuration("kubeconfig \(path): current-context \(contextName) is not in `contexts`")
        }
        guard let clusterName = context["cluster"]?.string,
            let cluster = named(root["clusters"], clusterName)?["cluster"]
        else { throw .configuration("kubeconfig \(path): the cluster of context \(contextName) is not in `clusters`") }
        guard let server = cluster["server"]?.string, server.hasPrefix("https://") || server.hasPrefix("http://")
        else { throw .configuration("kubeconfig \(path): cluster \(clusterName) has no https:// `server`") }

        let directory = FileIO.directoryName(path)
        var caFile: String?
        var caCertificates: [UInt8]?
        if let file = cluster["certificate-authority"]?.string {
            caFile = file.hasPrefix("/") ? file : directory + "/" + file
        } else if let encoded = cluster["certificate-authority-data"]?.string {
            // Kubeconfigs wrap long base64 lines; whitespace is not part of the data.
            guard let pem = Base64.decode(String(encoded.filter { !$0.isWhitespace })) else {
                throw .configuration("kubeconfig \(path): certificate-authority-data is not base64")
            }
            caCertificates = pem
        }

        var token = ClusterConfig.Token.none
        if let userName = context["user"]?.string, let user = named(root["users"], userName)?["user"] {
            for unsupported in ["exec", "auth-provider", "client-certificate", "client-certificate-data", "username"]
            where user[unsupported] != nil {
                throw .configuration(
                    "kubeconfig \(path): user \(userName) authenticates with `\(unsupported)`, "
                        + "which ocicred does not support; give it a `token` or `tokenFile`")
            }
            if let file = user["tokenFile"]?.string {
                token = .file(file.hasPrefix("/") ? file : directory + "/" + file)
            } else if let value = user["token"]?.string {
                token = .inline(Secret(value))
            }
        }
        return ClusterConfig(
            server: server, caFile: caFile, caCertificates: caCertificates,
            insecureSkipTLSVerify: cluster["insecure-skip-tls-verify"]?.bool ?? false, token: token,
            namespace: context["namespace"]?.string ?? "default", origin: path)
    }

    /// `- name: X` entries of a kubeconfig list.
    private static func named(_ list: Node?, _ name: String) -> Node? {
        guard case .sequence(let entries)? = list else { return nil }
        return entries.first { $0["name"]?.string == name }
    }
}

import Credentials
internal import FoundationEssentials
import Yams

#if canImport(Glibc)
    import Glibc
#endif

/// The subset of a kubeconfig file (Kubernetes docs, "Organizing Cluster Access Using kubeconfig Files") a
/// token-authenticated client needs: current-context → cluster (server, certificate-authority[-data],
/// insecure-skip-tls-verify) and user (token, tokenFile). Client certificates and exec plugins are reported,
/// not silently ignored, so a user never wonders why requests go out unauthenticated.
enum Kubeconfig {
    static func load(path: String) throws(KubernetesError) -> ClusterConfig {
        let text: String
        do {
            text = try String(decoding: Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
        } catch {
            throw .configuration("cannot read kubeconfig \(path): \(error.localizedDescription)")
        }
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

        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var caFile: String?
        if let file = cluster["certificate-authority"]?.string {
            caFile = file.hasPrefix("/") ? file : directory + "/" + file
        } else if let encoded = cluster["certificate-authority-data"]?.string {
            caFile = try writeCertificateAuthority(encoded, path: path)
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
            server: server, caFile: caFile, insecureSkipTLSVerify: cluster["insecure-skip-tls-verify"]?.bool ?? false,
            token: token, namespace: context["namespace"]?.string ?? "default", origin: path)
    }

    /// `- name: X` entries of a kubeconfig list.
    private static func named(_ list: Node?, _ name: String) -> Node? {
        guard case .sequence(let entries)? = list else { return nil }
        return entries.first { $0["name"]?.string == name }
    }

    /// curl takes a CA bundle as a file, so inline data goes to a private temporary file (a CA certificate is
    /// public, but the directory is still 0700), one per content so concurrent processes never collide.
    private static func writeCertificateAuthority(_ encoded: String, path: String) throws(KubernetesError) -> String {
        guard let pem = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
            throw .configuration("kubeconfig \(path): certificate-authority-data is not base64")
        }
        let directory = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/ocicred-kube-\(getuid())"
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: a name, not a security property
        for byte in pem {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let file = directory + "/ca-" + String(hash, radix: 16) + ".crt"
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try pem.write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw .configuration("cannot write the cluster CA from \(path) to \(file): \(error.localizedDescription)")
        }
        return file
    }
}

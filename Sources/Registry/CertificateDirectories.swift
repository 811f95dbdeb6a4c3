internal import Credentials
internal import FoundationEssentials
package import SystemSupport

/// containers-certs.d(5): a registry's CA lives in `<root>/<host[:port]>/ca.crt` (any `*.crt` there is a CA;
/// `*.cert`/`*.key` pairs are client certificates, which ocicred does not use). podman looks in
/// /etc/containers/certs.d, then docker's /etc/docker/certs.d; a rootless user's
/// `$XDG_CONFIG_HOME/containers/certs.d` comes first.
package enum CertificateDirectories {
    package static let systemRoots = ["/etc/containers/certs.d", "/etc/docker/certs.d"]

    /// `OCICRED_CERTS_DIRS` (colon-separated roots) replaces the whole list, so tests and containers with the
    /// CAs mounted elsewhere need no write access to /etc.
    package static func roots(environment: OcicredEnvironment) -> [String] {
        if let explicit = environment["OCICRED_CERTS_DIRS"] {
            return explicit.split(separator: ":").map(String.init)
        }
        return [environment.configHome + "/containers/certs.d"] + systemRoots
    }

    /// The CA bundle for `host`: the first root holding a directory for it. With `certDirectory` (podman's
    /// `--cert-dir`) only that directory is searched.
    package static func caFile(host: String, certDirectory: String?, environment: OcicredEnvironment) -> String? {
        if let certDirectory { return caFile(in: certDirectory) }
        for root in roots(environment: environment) {
            if let file = caFile(in: root + "/" + host) { return file }
        }
        return nil
    }

    /// `ca.crt` when present, else the first `*.crt` by name. The transport takes one bundle per request;
    /// a directory with several CA files should concatenate them into ca.crt.
    static func caFile(in directory: String) -> String? {
        guard let names = try? FileIO.list(directory), !names.isEmpty else { return nil }
        if names.contains("ca.crt") { return directory + "/ca.crt" }
        return names.filter { $0.hasSuffix(".crt") }.sorted().first.map { directory + "/" + $0 }
    }
}

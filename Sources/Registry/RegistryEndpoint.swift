internal import Credentials
package import SystemSupport

/// How to reach one registry host: whether TLS is verified, whether plain HTTP may be tried, and which extra
/// CA to trust. Decided once per command from the flags, registries.conf and certs.d, the way podman does.
package struct RegistryEndpoint: Sendable, Equatable {
    /// `host[:port]` as the user names it (the credential key's host).
    package var host: String
    /// The host the API lives on: Docker Hub's credentials are keyed `docker.io`, its API is
    /// registry-1.docker.io.
    package var apiHost: String
    package var verifyTLS: Bool
    /// `--tls-verify=false` or `insecure = true` in registries.conf: TLS unverified, plain HTTP allowed.
    package var insecure: Bool
    package var caFile: String?
    /// `--tls-verify=true` said outright: HTTPS only, even to loopback, as podman does ("Require HTTPS").
    package var requiresTLS: Bool

    package init(
        host: String, verifyTLS: Bool = true, insecure: Bool = false, caFile: String? = nil, requiresTLS: Bool = false
    ) {
        self.host = host
        self.requiresTLS = requiresTLS
        apiHost = host == "docker.io" ? "registry-1.docker.io" : host
        self.verifyTLS = verifyTLS
        self.insecure = insecure
        self.caFile = caFile
    }

    /// https is always tried first; http after it only for an insecure registry or a loopback one (docker's
    /// rule), and only when https did not answer like a registry; never when `--tls-verify=true` was given.
    package var allowsPlainHTTP: Bool { !requiresTLS && (insecure || LoopbackHost.isLoopback(apiHost)) }

    package var schemes: [String] { allowsPlainHTTP ? ["https", "http"] : ["https"] }

    /// Whether credentials may go over plain HTTP to `host` (a token realm): only to loopback, or when the user
    /// declared the registry insecure.
    package func permitsPlainHTTP(to host: String) -> Bool {
        !requiresTLS && (insecure || LoopbackHost.isLoopback(host))
    }

    /// The endpoint podman would use for `host`: `tlsVerify` is `--tls-verify` (nil when not given, then
    /// registries.conf decides); `certDirectory` is `--cert-dir`. A registries.conf that cannot be read is an
    /// error only when the flag does not already decide.
    package static func resolve(
        host: String, repository: String? = nil, tlsVerify: Bool?, certDirectory: String?,
        environment: OcicredEnvironment
    ) throws(RegistryError) -> RegistryEndpoint {
        let caFile = CertificateDirectories.caFile(host: host, certDirectory: certDirectory, environment: environment)
        if let tlsVerify {
            return RegistryEndpoint(
                host: host, verifyTLS: tlsVerify, insecure: !tlsVerify, caFile: caFile, requiresTLS: tlsVerify)
        }
        let conf: RegistriesConf
        do {
            conf = try RegistriesConf.load(environment: environment)
        } catch {
            throw .registriesConf(error)
        }
        if conf.isBlocked(host: host, repository: repository) {
            throw .invalidArgument("\(host) is blocked in registries.conf (containers-registries.conf(5))")
        }
        let insecure = conf.isInsecure(host: host, repository: repository)
        return RegistryEndpoint(host: host, verifyTLS: !insecure, insecure: insecure, caFile: caFile)
    }
}

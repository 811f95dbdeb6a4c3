import ArgumentParser
import Credentials
import Registry
import Transport
import SystemSupport

/// `ocicred verify HOST`: are the credentials `get` would hand out accepted, and for what?
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the credentials ocicred resolves for a registry against the registry itself.",
        discussion: """
            Credentials are resolved exactly as `docker-credential-ocicred get` resolves them, then checked: \
            /v2/ with them (authentication), then pull on --repository, then push with --push (from the token \
            server's grant for token auth; by starting and cancelling a blob upload for basic auth).

            Exit status:
              0  the credentials work for everything asked
              2  no credentials for the registry
              3  the credentials were rejected (401/403, or push/pull denied)
              4  the registry is unreachable (connection refused, DNS, timeout)
              5  TLS failed: trust its CA (certs.d, --cert-dir) or use --tls-verify=false
              1  anything else (bad arguments, unexpected answers)

            Environment: CONTAINERS_REGISTRIES_CONF (main registries.conf; insecure registries), \
            OCICRED_REGISTRIES_CONF_DIR (replaces the registries.conf.d drop-in directory), OCICRED_CERTS_DIRS \
            (colon-separated certs.d roots, default /etc/containers/certs.d:/etc/docker/certs.d), OCICRED_CA_FILE \
            (a CA bundle trusted for every registry).
            """)

    @Argument(help: "The registry host (host[:port]); host/repository also sets --repository.")
    var host: String

    @Option(help: "A repository to check pull (and with --push, push) access on, e.g. team/app.")
    var repository: String?

    @Flag(help: "Also check push access on --repository.")
    var push = false

    @OptionGroup var access: RegistryAccessOptions

    func run() async throws {
        let environment = OcicredEnvironment.current
        let logger = OcicredCommand.logger
        let (key, repository) = try access.parse(host: host, repository: repository)
        let resolver = Resolution.resolver(environment: environment, logger: logger)
        do {
            let endpoint = try access.endpoint(for: key, repository: repository, environment: environment)
            let client = RegistryClient(
                endpoint: endpoint, http: CurlHTTPClient(configuration: .fromEnvironment(environment.values)),
                credentials: RegistryLogin.credentialSource(resolver: resolver, key: key), logger: logger)
            let report = try await client.verify(repository: repository, push: push)
            StandardStreams.out(report.description)
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(error.kind.rawValue)
        }
    }
}

/// How to reach the registry, shared by `login` and `verify`; the same flags podman takes.
struct RegistryAccessOptions: ParsableArguments {
    @Option(
        name: .customLong("tls-verify"),
        help: """
            Verify TLS (true) or not (false: also allows plain HTTP). Default: false for registries marked \
            insecure in registries.conf, else true (plain HTTP is still tried for loopback registries).
            """)
    var tlsVerify: Bool?

    @Option(
        name: .customLong("cert-dir"),
        help: "A directory whose ca.crt is trusted for the registry (default: certs.d, see OCICRED_CERTS_DIRS).")
    var certDirectory: String?

    /// The credential key for HOST, and the repository from `--repository` or from HOST's path.
    func parse(host: String, repository: String?) throws -> (CredentialKey, String?) {
        let key: CredentialKey
        do {
            key = try CredentialKey(serverURL: host)
        } catch {
            throw ValidationError("\(host) is not a registry host: \(error)")
        }
        return (key, repository ?? (key.path.isEmpty ? nil : key.path))
    }

    func endpoint(for key: CredentialKey, repository: String?, environment: OcicredEnvironment)
        throws(RegistryError) -> RegistryEndpoint
    {
        try RegistryEndpoint.resolve(
            host: key.host, repository: repository, tlsVerify: tlsVerify, certDirectory: certDirectory,
            environment: environment)
    }
}

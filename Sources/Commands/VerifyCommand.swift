internal import ArgumentParser
internal import Credentials
internal import Registry
internal import SystemSupport
internal import Transport

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
        let resolver = Resolver.standard(environment: environment, logger: logger)
        do {
            let endpoint = try access.endpoint(for: key, repository: repository, environment: environment)
            var client = RegistryClient(
                endpoint: endpoint, http: CurlHTTPClient(configuration: .fromEnvironment(environment.values)),
                credentials: RegistryLogin.credentialSource(resolver: resolver, key: key), logger: logger)
            access.applyTimeout(to: &client)
            let report = try await client.verify(repository: repository, push: push)
            StandardStreams.out(report.description)
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(error.kind.rawValue)
        }
    }
}

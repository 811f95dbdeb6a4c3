internal import ArgumentParser
internal import Credentials
internal import Registry
internal import SystemSupport
internal import Transport

/// `ocicred login HOST`: `podman login` into ocicred's encrypted store, checked against the registry first.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in to a registry: check a username and password against it, then store them encrypted.",
        discussion: """
            The password is read from stdin with --password-stdin, else prompted for on the terminal without \
            echo; it is never taken as an argument (argv is visible to every user of the machine). Nothing is \
            stored unless the registry accepts the credentials.

            Exit status: 0 logged in; 3 the registry rejected the credentials; 4 the registry is unreachable; \
            5 TLS failed (trust its CA via certs.d, --cert-dir or OCICRED_CA_FILE, or use --tls-verify=false); \
            1 anything else.
            """)

    @Argument(help: "The registry host (host[:port]).")
    var host: String

    @Option(name: [.short, .customLong("username")], help: "The username (prompted for when omitted).")
    var username: String?

    @Flag(name: .customLong("password-stdin"), help: "Read the password from stdin (one trailing line end is dropped).")
    var passwordStdin = false

    @OptionGroup var access: RegistryAccessOptions

    func validate() throws {
        if passwordStdin && username == nil {
            throw ValidationError("--password-stdin needs --username")
        }
    }

    func run() async throws {
        let environment = OcicredEnvironment.current
        let logger = OcicredCommand.logger
        let (key, _) = try access.parse(host: host, repository: nil)
        let name: String
        let password: Secret
        do {
            name = try username ?? TerminalPrompt.read("Username: ", echo: true)
            password = Secret(
                passwordStdin ? try TerminalPrompt.readStdinLine() : try TerminalPrompt.read("Password: ", echo: false))
        } catch let error as TerminalPrompt.Failure {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(1)
        }
        guard !name.isEmpty, !password.isEmpty else {
            StandardStreams.err("error: the username and password must not be empty\n")
            throw ExitCode(1)
        }
        let resolver = Resolver.standard(environment: environment, logger: logger)
        do {
            let endpoint = try access.endpoint(for: key, repository: nil, environment: environment)
            _ = try await RegistryLogin.login(
                key: key, username: name, password: password, endpoint: endpoint,
                http: CurlHTTPClient(configuration: .fromEnvironment(environment.values)), store: resolver.store,
                logger: logger, configure: access.applyTimeout(to:))
            StandardStreams.out("Login Succeeded!\n")
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(error.kind.rawValue)
        }
    }
}

internal import ArgumentParser
internal import Credentials
internal import Helper
internal import Refresh
internal import SystemSupport

/// `ocicred refresh`: keeps auth files and Kubernetes Secrets holding unexpired credentials (DESIGN.md, the
/// refresh sidecar). Everything but argument parsing lives in `RefreshService`.
struct RefreshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh",
        abstract: "Write registry credentials to auth files and Secrets, and rewrite them before they expire.",
        discussion: """
            Outputs come from the config's `refresh: {outputs: [...]}` plus --authfile and --secret-name \
            (which cover every exact host of the config's `registries:`); with neither, $REGISTRY_AUTH_FILE. \
            SIGTERM finishes the write in progress and exits 0; SIGHUP reloads the config (a broken one is \
            reported with its position and the old one kept).
            """)

    @Flag(help: "Write every output once and exit; non-zero if any registry or output failed.")
    var once = false

    @Option(help: "Serve /healthz, /readyz and /metrics on this host:port (e.g. 127.0.0.1:9090).")
    var listen: String?

    @Option(
        name: [.customLong("authfile"), .customLong("auth-file")],
        help: "An auth file to keep fresh (merged, atomic, 0600); --auth-file is the old spelling.")
    var authFile: String?

    @Option(help: "The --authfile format: containers or docker.")
    var format: String = "containers"

    @Option(name: .customLong("secret-name"), help: "A dockerconfigjson Secret to keep fresh.")
    var secretName: String?

    @Option(
        name: .customLong("secret-namespace"), help: "A namespace for --secret-name (repeatable; default: our own).")
    var secretNamespaces: [String] = []

    @Option(name: .customLong("service-account"), help: "Add --secret-name to this service account's imagePullSecrets.")
    var serviceAccounts: [String] = []

    @Option(name: .customLong("leader-election-lease"), help: "Only the holder of this Lease writes Secrets.")
    var leaderElectionLease: String?

    @Option(help: "This replica's identity in the Lease (default: $POD_NAME, else host name and pid).")
    var identity: String?

    func validate() throws {
        guard AuthFileFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be containers or docker, not \(format)")
        }
    }

    func run() async throws {
        let environment = OcicredEnvironment.current
        let logger = OcicredCommand.logger
        var options = RefreshOptions()
        options.once = once
        options.listen = listen
        options.authFile = authFile
        options.format = AuthFileFormat(rawValue: format) ?? .containers
        options.secretName = secretName
        options.secretNamespaces = secretNamespaces
        options.serviceAccounts = serviceAccounts
        options.leaseName = leaderElectionLease
        options.identity = identity
        options.version = HelperProtocol.version
        options.onceReport = { report in
            for output in report.written { StandardStreams.out("wrote \(output)\n") }
            for failure in report.failedRegistries {
                StandardStreams.err("error: \(failure.registry): \(failure.reason)\n")
            }
            for failure in report.failedOutputs { StandardStreams.err("error: \(failure.output): \(failure.reason)\n") }
        }
        let status = await RefreshService.run(
            options: options, environment: environment,
            makeResolver: { config in
                Resolver(
                    environment: environment, providers: Resolver.standardProviders(environment: environment),
                    logger: logger,
                    config: config)
            }, logger: logger)
        if status != 0 { throw ExitCode(status) }
    }
}

/// What `main` asks before the process's first task: for `refresh`, the executor its work prefers, so the sidecar
/// runs on one NIO event loop instead of libdispatch's pool, whose monitor would wake it every second
/// (`EventLoopExecutor` says why). Other commands keep the global executor: they are short-lived.
package enum RefreshProcess {
    /// The executor the process's work should prefer, nil for every command but `refresh`. `arguments` without
    /// argv[0]; the root command has no options of its own, so the subcommand comes first.
    package static func executor(arguments: [String]) -> (any TaskExecutor)? {
        guard arguments.first == RefreshCommand.configuration.commandName else { return nil }
        return RefreshExecutor.make()
    }
}

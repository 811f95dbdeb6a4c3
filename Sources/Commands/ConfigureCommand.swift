internal import ArgumentParser
internal import Credentials
internal import Providers
internal import SystemSupport

/// `ocicred configure`: names ocicred in `credHelpers` for chosen registries, keeping the rest of the file.
struct ConfigureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configure",
        abstract: "Add credHelpers entries naming ocicred to an auth file, or print a registries.conf.d snippet.")

    @Option(name: .customLong("registry"), help: "A registry host to hand to ocicred (repeatable).")
    var registries: [String] = []

    @Flag(name: .customLong("from-config"), help: "Every registry host the ocicred config names.")
    var fromConfig = false

    @Flag(help: "gcr.io and its regional hosts.")
    var gcr = false

    @Option(
        name: .customLong("artifact-registry"),
        help: "An Artifact Registry location, e.g. us or europe-west1 (repeatable).")
    var artifactRegistry: [String] = []

    @Flag(name: .customLong("ecr-public"), help: "public.ecr.aws.")
    var ecrPublic = false

    @Option(
        help: """
            The containers auth.json to edit. Default: the one podman login writes — $REGISTRY_AUTH_FILE, else \
            $DOCKER_CONFIG/config.json, else $XDG_RUNTIME_DIR/containers/auth.json, else (as root) \
            /run/containers/0/auth.json.
            """)
    var authfile: String?

    @Option(name: .customLong("docker-config"), help: "A docker config.json to edit instead.")
    var dockerConfig: String?

    @Flag(name: .customLong("registries-conf"), help: "Print a registries.conf.d drop-in instead of editing a file.")
    var registriesConf = false

    @Flag(
        name: .customLong("dry-run"),
        help: "Show what would change, entry by entry (credentials redacted); write nothing.")
    var dryRun = false

    func run() async throws {
        if registriesConf {
            StandardStreams.out(CredHelperConfigurator.registriesConfSnippet)
            return
        }
        let environment = OcicredEnvironment.current
        var hosts = registries
        if fromConfig { hosts += try AuthFileGenerator.configuredRegistries(environment: environment) }
        if gcr { hosts += CredHelperConfigurator.gcrHosts }
        hosts += artifactRegistry.map(CredHelperConfigurator.artifactRegistryHost(location:))
        if ecrPublic { hosts.append("public.ecr.aws") }
        guard !hosts.isEmpty else {
            throw ValidationError(
                "name registries: --registry HOST, --from-config, --gcr, --artifact-registry, --ecr-public")
        }
        for host in hosts where (try? CredentialKey(serverURL: host)) == nil {
            throw ValidationError("\(host) is not a registry host")
        }
        guard
            let path = dockerConfig ?? authfile
                ?? CredHelperConfigurator.podmanAuthFile(environment: environment, userID: ProcessIdentity.realUserID)
        else {
            StandardStreams.err(
                "error: XDG_RUNTIME_DIR is not set, so podman picks its auth file itself: set XDG_RUNTIME_DIR "
                    + "or REGISTRY_AUTH_FILE as podman sees them, or name the file with --authfile\n")
            throw ExitCode(1)
        }
        do {
            let store = Resolver.standard(environment: environment, logger: OcicredCommand.logger).store
            let outcome = try await CredHelperConfigurator.configure(
                path: path, hosts: hosts, dryRun: dryRun, store: store)
            let result = outcome.result
            for host in outcome.moved {
                StandardStreams.out(
                    dryRun
                        ? "\(host): the password podman left in \(path) (base64 in auths) would move into the "
                            + "encrypted store\n"
                        : "\(host): moved the password podman left in \(path) (base64 in auths) into the encrypted "
                            + "store\n")
            }
            for host in outcome.droppedForStored {
                StandardStreams.out(
                    "\(host): the encrypted store already has credentials; the clear-text auths entry in \(path) "
                        + (dryRun ? "would be removed\n" : "was removed\n"))
            }
            if dryRun {
                StandardStreams.out(result.change.rendered(path: path))
            } else if result.changed {
                StandardStreams.out("\(path): ocicred is the credential helper for \(hosts.joined(separator: ", "))\n")
            } else {
                StandardStreams.out("\(path): already configured, nothing changed\n")
            }
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(1)
        }
    }
}

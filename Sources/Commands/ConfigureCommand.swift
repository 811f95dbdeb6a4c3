import ArgumentParser
import Credentials
import SystemSupport

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

    @Option(name: .customLong("artifact-registry"), help: "An Artifact Registry location, e.g. us or europe-west1 (repeatable).")
    var artifactRegistry: [String] = []

    @Flag(name: .customLong("ecr-public"), help: "public.ecr.aws.")
    var ecrPublic = false

    @Option(help: "The containers auth.json to edit (default: $REGISTRY_AUTH_FILE, else $XDG_CONFIG_HOME/containers/auth.json).")
    var authfile: String?

    @Option(name: .customLong("docker-config"), help: "A docker config.json to edit instead.")
    var dockerConfig: String?

    @Flag(name: .customLong("registries-conf"), help: "Print a registries.conf.d drop-in instead of editing a file.")
    var registriesConf = false

    @Flag(name: .customLong("dry-run"), help: "Show what would change, entry by entry (credentials redacted); write nothing.")
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
            throw ValidationError("name registries: --registry HOST, --from-config, --gcr, --artifact-registry, --ecr-public")
        }
        for host in hosts where (try? CredentialKey(serverURL: host)) == nil {
            throw ValidationError("\(host) is not a registry host")
        }
        let path = dockerConfig ?? authfile ?? environment["REGISTRY_AUTH_FILE"]
            ?? environment.configHome + "/containers/auth.json"
        do {
            let result = try await CredHelperConfigurator.configure(path: path, hosts: hosts, dryRun: dryRun)
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

internal import ArgumentParser
internal import Credentials
internal import FoundationEssentials
internal import SystemSupport

/// `ocicred authfile`: a ready auth file for `buildah push --authfile`, a CI job or a pod.
struct AuthfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authfile",
        abstract: "Write a containers auth.json or docker config.json with credentials for the given registries.",
        discussion: """
            Credentials are resolved exactly as `docker-credential-ocicred get` resolves them. Writing to a file \
            merges into it and keeps every other entry unless --replace; the file is written atomically, mode \
            0600. The report (registry, username, expiry) goes to stdout, or to stderr when the file itself goes \
            to stdout.
            """)

    @Option(name: .customLong("registry"), help: "A registry host (repeatable). Default: every host the config names.")
    var registries: [String] = []

    @Option(help: "containers (auth.json) or docker (config.json; Docker Hub under https://index.docker.io/v1/).")
    var format: String = "containers"

    @Option(
        name: [.short, .customLong("output"), .customLong("authfile")],
        help: "The file to write, or - for stdout (--authfile, as podman and buildah name the file they use).")
    var output: String = "-"

    @Flag(help: "Replace the file instead of merging into it.")
    var replace = false

    @Flag(name: .customLong("allow-expired"), help: "Write a credential even when its expiry has passed.")
    var allowExpired = false

    @Option(
        name: .customLong("from-env"), parsing: .upToNextOption,
        help: "Names of environment variables holding the username and secret (CI), used for every registry.")
    var fromEnv: [String] = []

    func validate() throws {
        guard AuthFileFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be containers or docker")
        }
    }

    func run() async throws {
        let environment = OcicredEnvironment.current
        let logger = OcicredCommand.logger
        var hosts = registries
        if hosts.isEmpty { hosts = try AuthFileGenerator.configuredRegistries(environment: environment) }
        guard !hosts.isEmpty else {
            throw ValidationError("no registries: pass --registry HOST, or name hosts in the config")
        }
        let generator = AuthFileGenerator(resolver: Resolver.standard(environment: environment, logger: logger))
        let toStdout = output == "-"
        do {
            let (entries, bytes) = try await generator.generate(
                registries: hosts, fromEnvironment: fromEnv, format: AuthFileFormat(rawValue: format)!,
                into: toStdout ? nil : output, replace: replace, allowExpired: allowExpired)
            let report = Self.report(entries, path: toStdout ? nil : output)
            if toStdout {
                StandardStreams.out(String(decoding: bytes, as: UTF8.self))
                StandardStreams.err(report)
            } else {
                StandardStreams.out(report)
            }
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(1)
        }
    }

    static func report(_ entries: [AuthFileGenerator.Entry], path: String?) -> String {
        var lines = [String]()
        if let path { lines.append("wrote \(path) (mode 0600)") }
        for entry in entries {
            let expiry = entry.expiresAt.map { "expires \(Date.ISO8601FormatStyle().format($0))" } ?? "no expiry"
            lines.append("\(entry.registry): \(entry.username), \(expiry) (from \(entry.source))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

internal import ArgumentParser
internal import Credentials
internal import FoundationEssentials
internal import Providers
internal import SystemSupport

/// `ocicred get HOST`: which credentials a registry gets and where they come from, for a person. The helper's
/// `get` answers a program with the secret in JSON; this one names the source and keeps the secret back unless
/// asked, so it can be run where a terminal is shared or recorded.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Show the username ocicred hands out for a registry and where it comes from.",
        discussion: """
            Credentials are resolved exactly as `docker-credential-ocicred get` resolves them: a config rule, \
            the encrypted store, the provider the host implies (minting a token if that is how the host works), \
            the auth files. The secret is printed only with --show-secret: then it alone goes to stdout, for a \
            pipe, and the description to stderr.

            Exit status: 0 found; 2 no credentials for the registry; 1 anything else.
            """)

    @Argument(help: "The registry: host[:port], or a server URL as docker names it.")
    var host: String

    @Flag(name: .customLong("show-secret"), help: "Also print the secret (password or token), alone on stdout.")
    var showSecret = false

    @Option(
        help: """
            The auth file to read in place of $REGISTRY_AUTH_FILE (podman's --authfile); config rules, the store \
            and cloud providers still come before any auth file, as for the helper. It must exist.
            """)
    var authfile: String?

    func run() async throws {
        var values = OcicredEnvironment.current.values
        if let authfile {
            // podman refuses an --authfile it cannot find rather than silently looking elsewhere.
            guard FileIO.exists(authfile) else {
                StandardStreams.err("error: the auth file \(authfile) does not exist (--authfile)\n")
                throw ExitCode(1)
            }
            values["REGISTRY_AUTH_FILE"] = authfile
        }
        let environment = OcicredEnvironment(values)
        let key: CredentialKey
        do {
            key = try CredentialKey(serverURL: host)
        } catch {
            throw ValidationError("\(host) is not a registry host: \(error)")
        }
        let credential: Credential
        do {
            credential = try await Resolver.standard(environment: environment, logger: OcicredCommand.logger)
                .resolve(key)
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            if case .notFound = error { throw ExitCode(2) }
            throw ExitCode(1)
        }
        let description = Self.describe(credential, key: key)
        if showSecret {
            StandardStreams.err(description)
            StandardStreams.out(credential.secret.exposedValue + "\n")
        } else {
            StandardStreams.out(description)
        }
    }

    /// `HOST: USERNAME (from SOURCE[, expires TIME])`.
    static func describe(_ credential: Credential, key: CredentialKey) -> String {
        var text = "\(key): \(credential.username) (from \(credential.source)"
        if let expiresAt = credential.expiresAt {
            text += ", expires \(Date.ISO8601FormatStyle().format(expiresAt))"
        }
        return text + ")\n"
    }
}

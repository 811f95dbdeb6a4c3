import ArgumentParser
import Credentials
import Logging

/// The root command. Each subcommand lives in its own file and calls one library entry point.
public struct OcicredCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ocicred",
        abstract: "Get, keep and hand out OCI registry credentials.",
        version: HelperProtocol.version,
        subcommands: [HelperCommand.self])

    public init() {}

    /// The logger subcommands use; `main` has bootstrapped the logging system before any command runs, so a
    /// logger made here writes to stderr at the configured level.
    static var logger: Logger { Logger(label: "ocicred") }
}

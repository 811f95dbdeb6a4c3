package import ArgumentParser
internal import Credentials
internal import Helper
internal import Logging
internal import SystemSupport

/// The root command. Each subcommand lives in its own file and calls one library entry point.
package struct OcicredCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "ocicred",
        abstract: "Get, keep and hand out OCI registry credentials.",
        discussion: """
            Shell completion: `ocicred --generate-completion-script bash` (or zsh, fish) prints a script for \
            your shell; the README says where to put it.
            """,
        version: HelperProtocol.version,
        subcommands: [
            HelperCommand.self, AuthfileCommand.self, ConfigureCommand.self, LoginCommand.self,
            LogoutCommand.self, GetCommand.self, ListCommand.self, VerifyCommand.self, KubeletCommand.self,
            ConfigCommand.self, RefreshCommand.self, HealthCommand.self, IndexCommand.self, MountCommand.self,
            UnmountCommand.self, PodmanArgsCommand.self, WebhookCommand.self,
        ])

    package init() {}

    /// Parses `arguments` (without argv[0]) and runs the chosen subcommand, async or not, then exits with the
    /// command's status. ArgumentParser's own `main(_:)` taking arguments is the synchronous one, which refuses
    /// async subcommands, hence this.
    package static func run(arguments: [String]) async -> Never {
        var status: Int32
        do {
            var command = try parseAsRoot(RegistryAccessOptions.normalizingTLSVerify(arguments))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            status = 0
        } catch {
            // ArgumentParser's messages (usage errors, --help, --version) are written here, through the same
            // stream as every other output, instead of by its print(), whose failure nobody would see.
            status = exitCode(for: error).rawValue
            let message = fullMessage(for: error)
            if !message.isEmpty {
                (status == 0 ? StandardStreams.out : StandardStreams.err)(message + "\n")
            }
        }
        if status == 0, let failure = StandardStreams.outputFailure {
            StandardStreams.err("ocicred: cannot write the output: \(failure)\n")
            status = 1
        }
        ProcessExit.exit(status)
    }

    /// The logger subcommands use; `main` has bootstrapped the logging system before any command runs, so a
    /// logger made here writes to stderr at the configured level.
    static var logger: Logger { Logger(label: "ocicred") }
}

internal import ArgumentParser
internal import Credentials
internal import Helper
internal import Logging
internal import SystemSupport

/// `ocicred helper ACTION`: the credential-helper protocol without the `docker-credential-ocicred` link.
struct HelperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helper",
        abstract: "Speak the docker-credential-helpers protocol (store, get, erase, list, version).")

    @Argument(help: "store, get, erase, list or version")
    var action: String

    func run() async throws {
        let environment = OcicredEnvironment.current
        let status = HelperMain.run(arguments: [action], environment: environment, logger: OcicredCommand.logger)
        if status != 0 { throw ExitCode(status) }
    }
}

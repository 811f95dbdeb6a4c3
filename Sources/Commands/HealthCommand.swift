internal import ArgumentParser
internal import Refresh

/// `ocicred health --authfile F`: an exec probe for pods that share the refreshed auth file but not its process.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 if an auth file written by `ocicred refresh` parses and none of its entries expired.")

    @Option(
        name: [.customLong("authfile"), .customLong("file")],
        help: "The auth file to check (its status is read from FILE.status); --file is the old spelling.")
    var file: String

    func run() throws {
        let verdict = AuthFileHealth.check(path: file)
        if verdict.isHealthy {
            StandardStreams.out("\(file): \(verdict)\n")
        } else {
            StandardStreams.err("ocicred health: \(file): \(verdict)\n")
            throw ExitCode(1)
        }
    }
}

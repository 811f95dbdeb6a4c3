import ArgumentParser
import Credentials
internal import FoundationEssentials
import SystemSupport

/// `ocicred config`: commands about the YAML config file.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the ocicred config file.",
        subcommands: [ValidateConfigCommand.self])
}

/// `ocicred config validate FILE…`: the same parser `get` uses, so a ConfigMap checked in CI cannot fail later
/// in a pod. Prints `FILE: ok (N rules)`, or the `file:line:column: message` of the first problem and exits 1.
struct ValidateConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check config files: every key, type and host pattern, with file:line:column on errors.")

    @Argument(help: "Config files to check.")
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one config file") }
    }

    func run() throws {
        var failed = false
        for file in files {
            switch ConfigValidation.check(file: file) {
            case .success(let count):
                StandardStreams.out("\(file): ok (\(count) rule\(count == 1 ? "" : "s"))\n")
            case .failure(let failure):
                StandardStreams.err(failure.description + "\n")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

/// Reads and parses one config file.
enum ConfigValidation {
    static let maximumBytes = 1 << 20

    static func check(file: String) -> Result<Int, Failure> {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.read(file, limit: maximumBytes)
        } catch {
            return .failure(Failure("cannot read \(error.description)"))
        }
        guard let bytes else { return .failure(Failure("\(file): no such file")) }
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            return .success(try ConfigParser.parse(text, file: file).rules.count)
        } catch {
            return .failure(Failure(error.description))
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        init(_ message: String) { self.message = message }
        var description: String { message }
    }
}

internal import ArgumentParser
internal import Credentials
internal import FoundationEssentials
internal import Kubernetes
internal import LazyMount
internal import Refresh
internal import SystemSupport

/// `ocicred config`: commands about the YAML config file.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the ocicred config file.",
        subcommands: [ValidateConfigCommand.self])
}

/// `ocicred config validate FILE…`: exactly the checks `get`, `refresh` and `kubelet` run — each target's own
/// parser for its part of the file — so a ConfigMap checked in CI cannot fail later in a pod. Prints
/// `FILE: ok (N rules)` and any warnings, or the `file:line:column: message` of the first problem and exits 1.
struct ValidateConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check config files as get, refresh and kubelet read them, with file:line:column on errors.")

    @Argument(help: "Config files to check.")
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one config file") }
    }

    func run() throws {
        var failed = false
        for file in files {
            switch ConfigValidation.check(file: file) {
            case .success(let (count, warnings)):
                for warning in warnings { StandardStreams.err("warning: \(warning)\n") }
                StandardStreams.out("\(file): ok (\(count) rule\(count == 1 ? "" : "s"))\n")
            case .failure(let failure):
                StandardStreams.err(failure.description + "\n")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

/// Reads one config file and runs every target's checks on it: Credentials' (version, registries, aliases,
/// variables), Refresh's (`refresh:`), Kubernetes' (`kubelet:`).
enum ConfigValidation {
    static let maximumBytes = 1 << 20

    static func check(file: String) -> Result<(rules: Int, warnings: [String]), Failure> {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.read(file, limit: maximumBytes)
        } catch {
            return .failure(Failure("cannot \(error.description)"))
        }
        guard let bytes else { return .failure(Failure("\(file): cannot read: no such file")) }
        let text = String(decoding: bytes, as: UTF8.self)
        let document: ConfigDocument
        var problems: [ConfigError]
        do {
            (document, problems) = try ConfigParser.parseDocumentCollecting(text, file: file)
        } catch {
            return .failure(Failure(error.description))
        }
        // Each section is checked even when another failed: every problem of the file, at its own place.
        do {
            _ = try RefreshConfig.parse(document)
        } catch {
            problems.append(error)
        }
        do {
            _ = try KubeletConfig.parse(document)
        } catch {
            problems.append(error)
        }
        do {
            _ = try MountConfig.parse(document)
        } catch {
            problems.append(error)
        }
        if let combined = ConfigError.combining(problems) {
            return .failure(Failure(combined.all.map(\.description).joined(separator: "\n")))
        }
        return .success((document.config.rules.count, document.warnings))
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        init(_ message: String) { self.message = message }
        var description: String { message }
    }
}

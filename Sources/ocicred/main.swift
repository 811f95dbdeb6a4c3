#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Commands
import Credentials

// Invoked through a `docker-credential-*` link, argv[0] selects the helper protocol; otherwise the CLI.
let environment = OcicredEnvironment.current
let logger = LogSetup.bootstrap(environment: environment)
let arguments = CommandLine.arguments
let invokedAs = arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "ocicred"
if invokedAs.hasPrefix("docker-credential-") {
    exit(HelperMain.run(arguments: Array(arguments.dropFirst()), environment: environment, logger: logger))
}
RefreshProcess.prepare(arguments: Array(arguments.dropFirst()))
AsyncBridge.wait { await OcicredCommand.run(arguments: Array(arguments.dropFirst())) }

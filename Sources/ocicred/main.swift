#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Commands
import SystemSupport

// A reader that went away (a closed pipe) is reported by write(2) as EPIPE and handled where the write is; the
// default SIGPIPE would instead kill the process mid-way, e.g. a mount stopping under SIGTERM (exit 141).
signal(SIGPIPE, SIG_IGN)

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

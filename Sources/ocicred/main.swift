internal import Commands
internal import Crypto
internal import Helper
internal import SystemSupport

// A reader that went away (a closed pipe) is reported by write(2) as EPIPE and handled where the write is; the
// default SIGPIPE would instead kill the process mid-way, e.g. a mount stopping under SIGTERM (exit 141).
do {
    try SignalWatcher.ignoreBrokenPipe()
} catch {
    StandardStream.error.writeIgnoringErrors("ocicred: \(error)\n")
    ProcessExit.exit(1)
}

// Invoked through a `docker-credential-*` link, argv[0] selects the helper protocol; otherwise the CLI.
let environment = OcicredEnvironment.current
let arguments = CommandLine.arguments
let invokedAs = arguments.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "ocicred"
let asHelper = invokedAs.hasPrefix("docker-credential-")
let logger = LogSetup.bootstrap(
    environment: environment, quietByDefault: asHelper || arguments.dropFirst().first == "helper")
// An OpenSSL configured so that it offers no algorithm ocicred may use (fips=yes without a FIPS provider) is
// reported before any secret is read or written; with OpenSSL unconfigured this costs nothing.
do {
    try CryptoReadiness.check()
} catch {
    // The helper protocol's failures go to stdout; everything else reports on stderr.
    (asHelper ? StandardStream.output : StandardStream.error).writeIgnoringErrors("\(error)\n")
    ProcessExit.exit(1)
}
if asHelper {
    ProcessExit.exit(HelperMain.run(arguments: Array(arguments.dropFirst()), environment: environment, logger: logger))
}
let executor = RefreshProcess.executor(arguments: Array(arguments.dropFirst()))
AsyncBridge.wait(on: executor) { await OcicredCommand.run(arguments: Array(arguments.dropFirst())) }

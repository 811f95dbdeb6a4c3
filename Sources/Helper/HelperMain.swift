internal import Credentials
package import Logging
internal import Providers
package import SystemSupport

/// The process edge of the helper protocol: reads stdin (bounded), calls `HelperProtocol`, writes stdout.
/// This path is what podman pays for on every pull, so it carries no argument parser, and a cached answer touches
/// only the config, the store, the token cache and auth files; libcurl is loaded (dlopen) only when a provider
/// has to mint a token over the network.
package enum HelperMain {
    /// `arguments` are the helper's own arguments (argv without argv[0]); returns the exit status.
    package static func run(arguments: [String], environment: OcicredEnvironment, logger: Logger) -> Int32 {
        guard arguments.count == 1 else { return answer(HelperProtocol.usage + "\n", status: 1) }
        let action = arguments[0]
        switch action {
        case "--version", "-v": return answer(HelperProtocol.versionLine, status: 0)
        case "--help", "-h": return answer(helpText, status: 0)
        default: break
        }
        let resolver = Resolver.standard(environment: environment, logger: logger)
        let helper = HelperProtocol(resolver: resolver, logger: logger)
        let input = HelperProtocol.readsInput(action) ? readStdin(limit: HelperProtocol.maxInputBytes) : []
        let response = helper.handle(action: action, input: input)
        return answer(response.stdout, status: response.status)
    }

    /// Writes the answer; an answer that could not be written whole is a failure (exit 1, the reason on
    /// stderr), or the client would take a truncated or missing answer for "no output".
    static func answer(_ text: String, status: Int32) -> Int32 {
        do {
            try StandardStream.output.write(text)
            return status
        } catch {
            StandardStream.error.writeIgnoringErrors("docker-credential-ocicred: cannot write the answer: \(error)\n")
            return 1
        }
    }

    static var helpText: String {
        """
        \(HelperProtocol.usage)

        A docker-credential-helpers compatible credential helper backed by ocicred's encrypted store.
          store    read {"ServerURL","Username","Secret"} on stdin and keep it encrypted
          get      read a server URL on stdin, print its credentials as JSON
          erase    read a server URL on stdin, forget its credentials
          list     print every stored server URL and its username as JSON
          version  print the version

        Name it in credHelpers (auth.json, ~/.docker/config.json) as "ocicred".
        Environment: OCICRED_STORE, OCICRED_KEY_FILE, OCICRED_LOG_LEVEL.

        """
    }

    /// Reads stdin to EOF; nil when it holds more than `limit` bytes or cannot be read.
    static func readStdin(limit: Int) -> [UInt8]? { (try? StandardStream.input.readAll(limit: limit)) ?? nil }
}

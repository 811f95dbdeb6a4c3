#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Credentials
import Logging

/// The process edge of the helper protocol: reads stdin (bounded), calls `HelperProtocol`, writes stdout.
/// This path is what podman pays for on every pull, so it touches nothing but the store and auth files:
/// no argument parser, no network library.
public enum HelperMain {
    /// `arguments` are the helper's own arguments (argv without argv[0]); returns the exit status.
    public static func run(arguments: [String], environment: OcicredEnvironment, logger: Logger) -> Int32 {
        guard arguments.count == 1 else {
            writeStdout(HelperProtocol.usage + "\n")
            return 1
        }
        let action = arguments[0]
        switch action {
        case "--version", "-v":
            writeStdout(HelperProtocol.versionLine)
            return 0
        case "--help", "-h":
            writeStdout(helpText)
            return 0
        default:
            break
        }
        let resolver = Resolution.resolver(environment: environment, logger: logger)
        let helper = HelperProtocol(resolver: resolver, logger: logger)
        let input = HelperProtocol.readsInput(action) ? readStdin(limit: HelperProtocol.maxInputBytes) : []
        let response = helper.handle(action: action, input: input)
        writeStdout(response.stdout)
        return response.status
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

    /// Reads stdin to EOF; nil when it holds more than `limit` bytes (we stop reading at limit + 1).
    static func readStdin(limit: Int) -> [UInt8]? {
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { return nil }
        }
        return bytes
    }

    static func writeStdout(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

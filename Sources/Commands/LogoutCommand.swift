internal import ArgumentParser
internal import Credentials
internal import SystemSupport

/// `ocicred logout HOST`: `podman logout` for ocicred's store, with podman's words and flags.
struct LogoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Remove a registry's credentials from ocicred's encrypted store, as podman logout does.",
        discussion: """
            Only the store changes. Credentials from the config, a cloud identity or an auth file's `auths` stay \
            (`podman logout HOST` removes an `auths` entry, and erases through ocicred for hosts whose \
            credHelpers entry names it).

            Exit status: 0 removed; 2 nothing was stored for the registry; 1 anything else.
            """)

    @Argument(help: "The registry: host[:port], or a server URL as docker names it.")
    var host: String?

    @Flag(name: [.short, .long], help: "Remove the credentials of every registry in the store.")
    var all = false

    func validate() throws {
        if all && host != nil { throw ValidationError("--all takes no registry") }
        if !all && host == nil { throw ValidationError("name a registry to log out from, or pass --all") }
    }

    func run() throws {
        let environment = OcicredEnvironment.current
        let store = EncryptedStore(directory: environment.storeDirectory, keyFile: environment.keyFile)
        guard let host else {
            do {
                _ = try store.eraseAll()
            } catch {
                StandardStreams.err("error: \(error.description)\n")
                throw ExitCode(1)
            }
            StandardStreams.out("Removed login credentials for all registries\n")
            return
        }
        let key: CredentialKey
        do {
            key = try CredentialKey(serverURL: host)
        } catch {
            throw ValidationError("\(host) is not a registry host: \(error)")
        }
        let erased: Bool
        do {
            erased = try store.erase(key)
        } catch {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(1)
        }
        guard erased else {
            StandardStreams.err("error: not logged into \(key): nothing is stored for it in \(store.directory)\n")
            throw ExitCode(2)
        }
        StandardStreams.out("Removed login credentials for \(key)\n")
    }
}

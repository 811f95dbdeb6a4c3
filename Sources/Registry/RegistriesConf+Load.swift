internal import Credentials
internal import FoundationEssentials
package import SystemSupport

extension RegistriesConf {
    package static let systemFile = "/etc/containers/registries.conf"
    package static let systemDropInDirectory = "/etc/containers/registries.conf.d"

    /// The files podman reads, in containers/image's order (containers-registries.conf(5)): the main file —
    /// `CONTAINERS_REGISTRIES_CONF`, else `$XDG_CONFIG_HOME/containers/registries.conf` when it exists, else
    /// /etc/containers/registries.conf — then every `*.conf` of the drop-in directory in name order — the
    /// user's `$XDG_CONFIG_HOME/containers/registries.conf.d` when it exists, else the system one. Setting
    /// `CONTAINERS_REGISTRIES_CONF` keeps the drop-ins, as in podman; `OCICRED_REGISTRIES_CONF_DIR` (ocicred's
    /// own, for tests and odd layouts) replaces the drop-in directory.
    package static func files(environment: OcicredEnvironment) -> (main: String, dropInDirectory: String) {
        let userFile = environment.configHome + "/containers/registries.conf"
        let userDirectory = environment.configHome + "/containers/registries.conf.d"
        let main =
            environment["CONTAINERS_REGISTRIES_CONF"]
            ?? (FileIO.exists(userFile) ? userFile : systemFile)
        let directory =
            environment["OCICRED_REGISTRIES_CONF_DIR"]
            ?? (FileIO.exists(userDirectory) ? userDirectory : systemDropInDirectory)
        return (main, directory)
    }

    /// Reads and merges the files above. A missing file is no error (most machines have no drop-ins); a file
    /// that exists but cannot be read or parsed is, since guessing could change which hosts get TLS.
    package static func load(environment: OcicredEnvironment) throws(RegistriesConfError) -> RegistriesConf {
        let (main, directory) = files(environment: environment)
        var conf = RegistriesConf()
        if let text = try read(main) { conf = try parse(text, file: main) }
        let names = ((try? FileIO.list(directory)) ?? []).filter { $0.hasSuffix(".conf") }
        for name in names {
            let path = directory + "/" + name
            if let text = try read(path) { conf.merge(try parse(text, file: path)) }
        }
        return conf
    }

    private static func read(_ path: String) throws(RegistriesConfError) -> String? {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.read(path, limit: 1 << 20)
        } catch {
            throw .unreadable(path: path, reason: error.description)
        }
        guard let bytes else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .unreadable(path: path, reason: "not UTF-8 text")
        }
        return text
    }
}

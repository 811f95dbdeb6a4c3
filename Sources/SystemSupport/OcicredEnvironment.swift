internal import Glibc

/// The environment ocicred reads, as a value: paths are derived here once, and tests pass their own
/// dictionary instead of mutating the process environment.
package struct OcicredEnvironment: Sendable {
    package let values: [String: String]

    package init(_ values: [String: String]) { self.values = values }

    /// The process environment, read straight from `environ`: ProcessInfo's dictionary costs a measurable
    /// share of a credential-helper call's start-up.
    package static var current: OcicredEnvironment {
        var values = [String: String]()
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                values[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return OcicredEnvironment(values)
    }

    /// One variable of the process environment, without reading all of it (libraries consulted before any
    /// command has built its environment value: the crypto route). Empty counts as unset.
    package static func processValue(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    package subscript(name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    package var home: String { self["HOME"] ?? "/root" }

    /// XDG base directories with their specified fallbacks (XDG Base Directory Specification 0.8). "All paths
    /// set in these environment variables must be absolute. If an implementation encounters a relative path in
    /// any of these variables it should consider the path invalid and ignore it": a relative value would put
    /// the store wherever the command happens to run.
    package var dataHome: String { xdg("XDG_DATA_HOME") ?? home + "/.local/share" }
    package var configHome: String { xdg("XDG_CONFIG_HOME") ?? home + "/.config" }
    package var cacheHome: String { xdg("XDG_CACHE_HOME") ?? home + "/.cache" }
    /// `$XDG_RUNTIME_DIR`, where podman keeps its auth file; nil when unset or relative.
    package var runtimeDirectory: String? { xdg("XDG_RUNTIME_DIR") }

    private func xdg(_ name: String) -> String? {
        guard let value = self[name], value.hasPrefix("/") else { return nil }
        return value
    }

    /// The token cache file every process shares (a helper call, the sidecar, a mount); on a shared volume
    /// set OCICRED_CACHE_FILE so all of them point at the same file.
    package var tokenCacheFile: String { self["OCICRED_CACHE_FILE"] ?? cacheHome + "/ocicred/tokens" }
    package var tokenCacheEnabled: Bool { self["OCICRED_CACHE"]?.lowercased() != "off" }

    package var storeDirectory: String { self["OCICRED_STORE"] ?? dataHome + "/ocicred" }
    package var keyFile: String { self["OCICRED_KEY_FILE"] ?? configHome + "/ocicred/key" }

    /// The auth files containers/image and docker read, in containers/image's order
    /// (containers-auth.json(5)): REGISTRY_AUTH_FILE, the runtime dir (without XDG_RUNTIME_DIR,
    /// `/run/containers/<uid>`, where root's `podman login` writes), the config dir, then docker's.
    package var ambientAuthFiles: [String] {
        var paths = [String]()
        if let explicit = self["REGISTRY_AUTH_FILE"] { paths.append(explicit) }
        paths.append(runtimeDirectory.map { $0 + "/containers/auth.json" } ?? "/run/containers/\(getuid())/auth.json")
        paths.append(configHome + "/containers/auth.json")
        paths.append((self["DOCKER_CONFIG"] ?? home + "/.docker") + "/config.json")
        return paths
    }

    package var logLevel: String? { self["OCICRED_LOG_LEVEL"] }
}

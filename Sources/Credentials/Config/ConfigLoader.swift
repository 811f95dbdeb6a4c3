package import SystemSupport

/// Finds and reads the config for this environment. A missing file is an empty config; an unreadable or
/// invalid one is an error (a rule the user wrote must never be skipped silently).
package enum ConfigLoader {
    package static func path(in environment: OcicredEnvironment) -> String {
        environment["OCICRED_CONFIG"] ?? environment.configHome + "/ocicred/config.yaml"
    }

    package static func load(environment: OcicredEnvironment) throws(CredentialError) -> OcicredConfig {
        try loadDocument(environment: environment).config
    }

    /// The config with the sections other targets own; a missing file is an empty document.
    package static func loadDocument(environment: OcicredEnvironment) throws(CredentialError) -> ConfigDocument {
        let path = path(in: environment)
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.read(path, limit: 1 << 20)
        } catch {
            throw .configUnreadable(path: path, reason: error.description)
        }
        // The default file is optional; a file the user named is not: ignoring it would run without their rules.
        if bytes == nil, environment["OCICRED_CONFIG"] != nil {
            throw .configUnreadable(path: path, reason: "there is no such file (OCICRED_CONFIG names it)")
        }
        do {
            return try ConfigParser.parseDocument(bytes.map { String(decoding: $0, as: UTF8.self) } ?? "", file: path)
        } catch {
            throw .config(error)
        }
    }
}

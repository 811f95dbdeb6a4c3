import SystemSupport
/// Finds and reads the config for this environment. A missing file is an empty config; an unreadable or
/// invalid one is an error (a rule the user wrote must never be skipped silently).
public enum ConfigLoader {
    public static func path(in environment: OcicredEnvironment) -> String {
        environment["OCICRED_CONFIG"] ?? environment.configHome + "/ocicred/config.yaml"
    }

    public static func load(environment: OcicredEnvironment) throws(CredentialError) -> OcicredConfig {
        let path = path(in: environment)
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.read(path, limit: 1 << 20)
        } catch {
            throw .configUnreadable(path: path, reason: error.description)
        }
        guard let bytes else { return OcicredConfig(path: path) }
        do {
            return try ConfigParser.parse(String(decoding: bytes, as: UTF8.self), file: path)
        } catch {
            throw .config(error)
        }
    }
}

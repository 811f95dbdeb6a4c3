internal import Credentials
internal import SystemSupport

/// The shared `config` and `credentials` files (https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html),
/// parsed and merged the way the SDKs do it:
/// - `config` names profiles `[profile NAME]` (and `[default]`); a bare `[NAME]` there is not a profile.
/// - `credentials` names them `[NAME]`; `[profile NAME]` there is not a profile.
/// - Both files are merged per profile, `credentials` winning key by key.
/// - Keys are case-insensitive; `#`/`;` start a comment at the line start, or mid-value after whitespace;
///   indented lines under an empty value are sub-properties (e.g. `s3 =`) and are kept out of the profile.
struct AWSSharedConfig: Sendable, Equatable {
    /// Profile name → lower-cased key → value.
    var profiles: [String: [String: String]]
    /// The files that were read (for messages); a missing file is simply absent here.
    var configPath: String
    var credentialsPath: String

    struct Profile: Equatable, Sendable {
        let name: String
        let values: [String: String]
        subscript(key: String) -> String? {
            guard let value = values[key], !value.isEmpty else { return nil }
            return value
        }
    }

    func profile(_ name: String) -> Profile? { profiles[name].map { Profile(name: name, values: $0) } }

    /// `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials`; a
    /// leading `~/` is expanded as the SDKs do.
    static func paths(_ environment: OcicredEnvironment) -> (config: String, credentials: String) {
        let home = environment["HOME"] ?? "/root"
        func expand(_ path: String) -> String { path.hasPrefix("~/") ? home + path.dropFirst() : path }
        return (
            expand(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config"),
            expand(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials")
        )
    }

    /// Reads both files; missing files are empty. Unreadable ones (permissions, not a file) are an error,
    /// because silently skipping a credentials file the user wrote makes "no credentials" a lie.
    static func load(_ environment: OcicredEnvironment) throws(ProviderError) -> AWSSharedConfig {
        let (configPath, credentialsPath) = paths(environment)
        let configText = try LocalFile.readText(configPath)
        let credentialsText = try LocalFile.readText(credentialsPath)
        return merge(
            config: configText.map { parse($0, isConfigFile: true) } ?? [:],
            credentials: credentialsText.map { parse($0, isConfigFile: false) } ?? [:],
            configPath: configPath, credentialsPath: credentialsPath)
    }

    static func merge(
        config: [String: [String: String]], credentials: [String: [String: String]], configPath: String = "config",
        credentialsPath: String = "credentials"
    ) -> AWSSharedConfig {
        var profiles = config
        for (name, values) in credentials {
            profiles[name, default: [:]].merge(values) { _, fromCredentials in fromCredentials }
        }
        return AWSSharedConfig(profiles: profiles, configPath: configPath, credentialsPath: credentialsPath)
    }

    /// Parses one file into profile name → properties.
    static func parse(_ text: String, isConfigFile: Bool) -> [String: [String: String]] {
        var profiles: [String: [String: String]] = [:]
        var current: String?
        // `[profile default]` beats `[default]` in the config file (the SDKs' rule when both exist).
        var sawProfileDefault = false
        var inSubProperties = false
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = String(line).trimmingASCIIWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            let indented = line.first == " " || line.first == "\t"
            if trimmed.hasPrefix("[") {
                inSubProperties = false
                guard let close = trimmed.firstIndex(of: "]") else {
                    current = nil
                    continue
                }
                let header = trimmed[trimmed.index(after: trimmed.startIndex)..<close].split(
                    separator: " ", omittingEmptySubsequences: true
                ).joined(separator: " ")
                current = profileName(fromSection: header, isConfigFile: isConfigFile)
                if isConfigFile, current == "default" {
                    let explicit = header.hasPrefix("profile ")
                    if explicit {
                        if !sawProfileDefault { profiles["default"] = [:] }
                        sawProfileDefault = true
                    } else if sawProfileDefault {
                        current = nil
                    }
                }
                if let current, profiles[current] == nil { profiles[current] = [:] }
                continue
            }
            guard let name = current else { continue }
            if indented && inSubProperties { continue }
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            let key = String(trimmed[..<equals]).trimmingASCIIWhitespace().lowercased()
            var value = String(trimmed[trimmed.index(after: equals)...]).trimmingASCIIWhitespace()
            value = stripInlineComment(value)
            guard !key.isEmpty else { continue }
            inSubProperties = value.isEmpty
            if inSubProperties { continue }
            profiles[name]?[key] = value
        }
        return profiles
    }

    private static func profileName(fromSection header: String, isConfigFile: Bool) -> String? {
        if isConfigFile {
            if header == "default" { return "default" }
            if header.hasPrefix("profile ") {
                let name = String(header.dropFirst("profile ".count)).trimmingASCIIWhitespace()
                return name.isEmpty ? nil : name
            }
            return nil  // `[sso-session x]`, `[services x]`, or a bare name: not a profile
        }
        return header.hasPrefix("profile ") || header.isEmpty ? nil : header
    }

    /// ` #…` or ` ;…` ends a value (a `#` inside a value without whitespace before it stays).
    private static func stripInlineComment(_ value: String) -> String {
        var previous: Character = "x"
        for index in value.indices {
            let char = value[index]
            if (char == "#" || char == ";") && (previous == " " || previous == "\t") {
                return String(value[..<index]).trimmingASCIIWhitespace()
            }
            previous = char
        }
        return value
    }
}

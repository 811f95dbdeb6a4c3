internal import FoundationEssentials
package import SystemSupport

/// Long-lived credential material — what a registry credential is made from — in the one versioned shape
/// DESIGN.md fixes: `{"version":1,"registry":…,"type":…,"credentials":{…}}`. Keys we do not know are kept
/// (in `credentials` and at the top level) so a newer writer's data survives an older reader's round trip.
package struct CredentialMaterial: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    package static let currentVersion = 1

    package var registry: String
    package var type: CredentialType
    package var credentials: [String: JSONValue]
    /// Top-level keys other than version/registry/type/credentials, written back untouched.
    package var unknownFields: [String: JSONValue]

    package init(
        registry: String, type: CredentialType, credentials: [String: JSONValue],
        unknownFields: [String: JSONValue] = [:]
    ) {
        self.registry = registry
        self.type = type
        self.credentials = credentials
        self.unknownFields = unknownFields
    }

    /// What a helper `store` request means: a secret that is itself credential material (the versioned shape,
    /// or a flat object of well-known keys such as AWS keys for an ECR host) is kept as that material, so a
    /// provider can mint from it later; anything else is `fromHelper`'s username and secret.
    package static func fromStoreRequest(serverURL: String, username: String, secret: Secret) -> CredentialMaterial {
        if secret.exposedValue.hasPrefix("{"),
            var parsed = try? CredentialMaterial.parse(secret.exposedValue, registry: serverURL),
            parsed.type != .basic || parsed.credentials["USERNAME"] != nil
        {
            parsed.registry = serverURL
            return parsed
        }
        return fromHelper(serverURL: serverURL, username: username, secret: secret)
    }

    /// A username and a secret; docker's `<token>` username marks an identity token rather than a password.
    package static func fromHelper(serverURL: String, username: String, secret: Secret) -> CredentialMaterial {
        if username == "<token>" {
            return CredentialMaterial(
                registry: serverURL, type: .token, credentials: ["IDENTITY_TOKEN": .string(secret.exposedValue)])
        }
        return CredentialMaterial(
            registry: serverURL, type: .basic,
            credentials: ["USERNAME": .string(username), "PASSWORD": .string(secret.exposedValue)])
    }

    /// Parses any accepted spelling: the versioned JSON shape, a flat JSON object of well-known keys
    /// (environment-variable names or a GCP service-account key), or the legacy `username:password` string,
    /// whose password may itself contain `:` (only the first `:` separates).
    /// - Parameter registry: the registry the material is for, used when the text does not name one and to
    ///   pick the type when the keys do not.
    package static func parse(_ text: String, registry: String) throws(CredentialError) -> CredentialMaterial {
        let trimmed = text.trimmingASCIIWhitespace()
        if trimmed.isEmpty { throw .materialEmpty }
        if trimmed.hasPrefix("{") {
            let object: [String: JSONValue]
            do {
                object = try JSONValue.parseObject(Array(trimmed.utf8))
            } catch {
                throw .materialUnparsable(reason: "it starts with `{` but is not valid JSON")
            }
            return try fromObject(object, registry: registry)
        }
        guard let colon = trimmed.firstIndex(of: ":") else {
            throw .materialUnparsable(reason: "it is neither the versioned JSON shape nor `username:password`")
        }
        let username = String(trimmed[..<colon])
        let password = String(trimmed[trimmed.index(after: colon)...])
        if username.isEmpty { throw .materialUnparsable(reason: "the username before the first `:` is empty") }
        if username.contains(where: { $0.isNewline || $0 == "\0" }) {
            throw .materialUnparsable(reason: "the username contains a control character")
        }
        return .fromHelper(serverURL: registry, username: username, secret: Secret(password))
    }

    static func fromObject(_ object: [String: JSONValue], registry: String) throws(CredentialError)
        -> CredentialMaterial
    {
        guard let versionValue = object["version"] else {
            // A flat object: the keys themselves are the credentials (the seeds' env-style material).
            let keys = Set(object.keys)
            let type = CredentialType.detect(fromKeys: keys) ?? CredentialType.default(for: .classify(host: registry))
            return CredentialMaterial(registry: registry, type: type, credentials: object)
        }
        guard case .integer(let version) = versionValue else {
            throw .materialUnparsable(reason: "`version` must be an integer")
        }
        guard version == Int64(currentVersion) else { throw .materialUnsupportedVersion(Int(version)) }
        var credentials: [String: JSONValue] = [:]
        if let value = object["credentials"] {
            guard case .object(let map) = value else {
                throw .materialUnparsable(reason: "`credentials` must be an object")
            }
            credentials = map
        }
        var resolvedRegistry = registry
        if let value = object["registry"] {
            guard case .string(let name) = value else {
                throw .materialUnparsable(reason: "`registry` must be a string")
            }
            if !name.isEmpty { resolvedRegistry = name }
        }
        let type: CredentialType
        if let value = object["type"] {
            guard case .string(let name) = value else { throw .materialUnparsable(reason: "`type` must be a string") }
            guard let known = CredentialType(rawValue: name.lowercased()) else { throw .materialUnknownType(name) }
            type = known
        } else {
            type =
                CredentialType.detect(fromKeys: Set(credentials.keys))
                ?? CredentialType.default(for: .classify(host: resolvedRegistry))
        }
        var unknown = object
        for key in ["version", "registry", "type", "credentials"] { unknown[key] = nil }
        return CredentialMaterial(
            registry: resolvedRegistry, type: type, credentials: credentials, unknownFields: unknown)
    }

    /// The versioned JSON shape, keys sorted, unknown keys included.
    package func serialized() -> [UInt8] {
        var object = unknownFields
        object["version"] = .integer(Int64(Self.currentVersion))
        object["registry"] = .string(registry)
        object["type"] = .string(type.rawValue)
        object["credentials"] = .object(credentials)
        // Encoding a tree of strings, numbers and containers cannot fail.
        return (try? JSONValue.serialize(object, pretty: false)) ?? []
    }

    private func string(_ key: String) -> String? { credentials[key]?.stringValue }

    /// The username and secret to hand to a registry for material that needs no minting; nil for material
    /// that a cloud provider must turn into a short-lived token (aws, gcp, azure) or that lacks its secret.
    package func staticCredential() -> (username: String, secret: Secret)? {
        switch type {
        case .basic:
            guard let username = string("USERNAME"), let password = string("PASSWORD") else { return nil }
            return (username, Secret(password))
        case .token:
            guard let token = string("IDENTITY_TOKEN") else { return nil }
            return ("<token>", Secret(token))
        case .ngc:
            // NGC's fixed username for API keys, https://docs.nvidia.com/ngc/ (Docker login with an API key).
            guard let key = string("NGC_API_KEY") else { return nil }
            return ("$oauthtoken", Secret(key))
        case .github:
            guard let token = string("GITHUB_TOKEN") ?? string("PASSWORD") else { return nil }
            return (string("GITHUB_USERNAME") ?? string("USERNAME") ?? "oauth2", Secret(token))
        case .dockerhub:
            guard let username = string("DOCKERHUB_USERNAME") ?? string("USERNAME"),
                let token = string("DOCKERHUB_TOKEN") ?? string("DOCKERHUB_PASSWORD") ?? string("PASSWORD")
            else { return nil }
            return (username, Secret(token))
        case .aws, .gcp, .azure:
            return nil
        }
    }

    /// The username `list` shows: the real one for static material, the provider's fixed one otherwise.
    package var username: String {
        if let credential = staticCredential() { return credential.username }
        switch type {
        case .aws: return "AWS"
        case .gcp: return "oauth2accesstoken"
        case .azure: return "00000000-0000-0000-0000-000000000000"
        default: return string("USERNAME") ?? ""
        }
    }

    package var description: String {
        "CredentialMaterial(type: \(type.rawValue), registry: \(registry), keys: \(credentials.keys.sorted()))"
    }

    /// `credentials` holds the secrets themselves (passwords, keys, tokens) as plain JSON values, so every
    /// printed or reflected form names its keys only: `dump`, `String(reflecting:)` and a Mirror walk show
    /// nothing a log line must not hold.
    package var debugDescription: String { description }
    package var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "registry": registry, "type": type, "credentials": credentials.keys.sorted(),
                "unknownFields": unknownFields.keys.sorted(),
            ], displayStyle: .struct)
    }
}

extension String {
    /// Trims spaces, tabs and line ends, as Go's strings.TrimSpace does for the inputs helpers receive.
    package func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

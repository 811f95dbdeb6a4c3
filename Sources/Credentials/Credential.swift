package import FoundationEssentials

/// Where a resolved credential came from; `get` logs it (never the secret) so a user can see which rule won.
package enum CredentialSource: Sendable, Equatable, CustomStringConvertible {
    case store(path: String)
    case authFile(path: String)
    /// Minted by a cloud provider (possibly served from the token cache).
    case provider(name: String)
    /// Read from environment variables a config rule names.
    case environment(variables: [String])

    package var description: String {
        switch self {
        case .store(let path): return "encrypted store \(path)"
        case .authFile(let path): return "auth file \(path)"
        case .provider(let name): return "\(name) provider"
        case .environment(let variables): return "environment \(variables.joined(separator: ", "))"
        }
    }
}

/// A credential ready to present to a registry.
package struct Credential: Sendable, Equatable, CustomStringConvertible {
    package var username: String
    package var secret: Secret
    /// When a minted token stops working; nil for credentials without a known lifetime.
    package var expiresAt: Date?
    package var source: CredentialSource

    package init(username: String, secret: Secret, expiresAt: Date? = nil, source: CredentialSource) {
        self.username = username
        self.secret = secret
        self.expiresAt = expiresAt
        self.source = source
    }

    package var description: String { "Credential(username: \(username), secret: <redacted>, source: \(source))" }
}

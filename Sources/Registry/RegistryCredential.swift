package import Credentials

/// What a client presents to a registry or its token server: a username and password, or an identity
/// (refresh) token, which docker's helper protocol marks with the username `<token>`.
package enum RegistryCredential: Sendable, Equatable, CustomStringConvertible {
    case basic(username: String, password: Secret)
    /// Exchanged at the token server with `grant_type=refresh_token` (distribution's OAuth2 token spec).
    case identityToken(Secret)

    package init(_ credential: Credential) {
        if credential.username == "<token>" {
            self = .identityToken(credential.secret)
        } else {
            self = .basic(username: credential.username, password: credential.secret)
        }
    }

    package var username: String? {
        if case .basic(let username, _) = self { return username }
        return nil
    }

    package var description: String {
        switch self {
        case .basic(let username, _): return "basic(\(username), <redacted>)"
        case .identityToken: return "identityToken(<redacted>)"
        }
    }
}

/// Asks for the credentials to present; `refresh` is true on the retry after a 401, when a source that mints
/// short-lived tokens should mint anew rather than answer from its cache. nil means anonymous.
package typealias RegistryCredentialSource =
    @Sendable (_ refresh: Bool) async throws(RegistryError)
    -> RegistryCredential?

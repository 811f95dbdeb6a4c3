internal import Crypto
internal import FoundationEssentials

/// One entry of a distribution token's `access` claim (token spec, "Requesting a Token" → the JWT's
/// `access` field): what the token server actually granted, which can be less than what was asked — a token
/// server answers a push request from a read-only user with a pull-only token instead of an error.
package struct GrantedAccess: Sendable, Equatable, Decodable {
    package var type: String
    package var name: String
    package var actions: [String]

    package init(type: String, name: String, actions: [String]) {
        self.type = type
        self.name = name
        self.actions = actions
    }

    /// The `access` claim of a JWT bearer token, read without verifying the signature: the registry verifies
    /// it; we only learn what it will allow. nil when the token is not a JWT or has no `access` claim (some
    /// registries issue opaque tokens; then only a request tells).
    package static func fromToken(_ token: String) -> [GrantedAccess]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = base64URLDecode(parts[1]) else { return nil }
        struct Claims: Decodable { var access: [GrantedAccess]? }
        return (try? JSONDecoder().decode(Claims.self, from: payload))?.access
    }

    /// Whether `access` allows `action` on repository `name` (`*` grants every action).
    package static func allows(_ access: [GrantedAccess], action: String, repository name: String) -> Bool {
        access.contains {
            $0.type == "repository" && $0.name == name
                && ($0.actions.contains(action)
                    || $0.actions.contains("*"))
        }
    }

    /// A JWT segment: base64url without padding, which the one Base64 decoder reads as is.
    static func base64URLDecode(_ text: Substring) -> Data? { Base64.decode(String(text)).map { Data($0) } }
}

internal import Credentials
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// ACR's AAD-to-registry exchange (https://github.com/Azure/acr/blob/main/docs/AAD-OAuth.md): an AAD access token
/// for the registry scope buys an ACR refresh token, which docker and podman use as the password of the null-GUID
/// user. `OCICRED_ACR_EXCHANGE_ENDPOINT` replaces `https://<registry>` as the base URL, for private endpoints
/// reached under another name and for tests; the `service` field still names the registry.
struct ACRTokenExchange: Sendable {
    static let endpointVariable = "OCICRED_ACR_EXCHANGE_ENDPOINT"
    /// ACR refresh tokens live three hours; used when the token's `exp` cannot be read.
    static let defaultLifetime: TimeInterval = 3 * 3600

    var url: String

    init(registry: String, environment: OcicredEnvironment) {
        var base = environment[Self.endpointVariable] ?? "https://" + registry
        while base.hasSuffix("/") { base.removeLast() }
        url = base + "/oauth2/exchange"
    }

    /// Exchanges `aadToken`; the refresh token's expiry is its JWT `exp` (read, not verified: the registry is the
    /// one that checks it), else three hours.
    func refreshToken(registry: String, tenantID: String?, aadToken: Secret, _ oauth: OAuth2, now: Date)
        async throws(ProviderError) -> OAuth2.AccessToken
    {
        var fields = [("grant_type", "access_token"), ("service", registry)]
        if let tenantID { fields.append(("tenant", tenantID)) }
        fields.append(("access_token", aadToken.exposedValue))
        let answer = try await oauth.postForm(url, fields)
        guard let token = answer["refresh_token"]?.stringValue, !token.isEmpty else {
            throw .invalidResponse(provider: "azure", endpoint: url, reason: "the answer has no refresh_token")
        }
        let expiresAt = TokenLifetime.jwtExpiry(token) ?? now.addingTimeInterval(Self.defaultLifetime)
        return OAuth2.AccessToken(value: Secret(token), expiresAt: expiresAt, endpoint: url)
    }
}

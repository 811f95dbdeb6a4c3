internal import Credentials
internal import FoundationEssentials
internal import SystemSupport

/// A user's `gcloud auth application-default login` credential: a refresh token with the OAuth client it was
/// issued to, traded with the refresh-token grant (RFC 6749 §6).
struct AuthorizedUser: Sendable {
    var clientID: String
    var clientSecret: Secret
    var refreshToken: Secret
    var tokenURI: String

    init(_ document: [String: JSONValue], origin: String) throws(ProviderError) {
        guard let clientID = document["client_id"]?.stringValue, !clientID.isEmpty,
            let refreshToken = document["refresh_token"]?.stringValue, !refreshToken.isEmpty
        else {
            throw .misconfigured(
                provider: "gcp", detail: "\(origin): an authorized_user credential needs client_id and refresh_token")
        }
        self.clientID = clientID
        self.clientSecret = Secret(document["client_secret"]?.stringValue ?? "")
        self.refreshToken = Secret(refreshToken)
        tokenURI = document["token_uri"]?.stringValue ?? ServiceAccountKey.defaultTokenURI
    }

    func fetchToken(_ oauth: OAuth2, now: Date) async throws(ProviderError) -> OAuth2.AccessToken {
        let answer = try await oauth.postForm(
            tokenURI,
            [
                ("grant_type", "refresh_token"), ("refresh_token", refreshToken.exposedValue),
                ("client_id", clientID), ("client_secret", clientSecret.exposedValue),
            ])
        return try oauth.accessToken(answer, url: tokenURI, now: now)
    }
}

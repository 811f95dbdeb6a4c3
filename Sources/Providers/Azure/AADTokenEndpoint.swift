internal import Credentials
internal import FoundationEssentials
internal import SystemSupport

/// Microsoft Entra ID's v2.0 token endpoint, client-credentials grant
/// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow): a client secret, or
/// a federated token as `client_assertion` (workload identity). `AZURE_AUTHORITY_HOST` picks the cloud, as in
/// the Azure SDKs (https://login.chinacloudapi.cn/, …).
struct AADTokenEndpoint: Sendable {
    static let defaultAuthorityHost = "https://login.microsoftonline.com/"
    static let registryScope = "https://containerregistry.azure.net/.default"
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// AADSTS700024: "Client assertion is not within its valid time range": the federated token lapsed.
    static let expiredAssertionCode = "AADSTS700024"

    var authorityHost: String

    init(environment: OcicredEnvironment) {
        var host = environment["AZURE_AUTHORITY_HOST"] ?? Self.defaultAuthorityHost
        if !host.hasSuffix("/") { host += "/" }
        authorityHost = host
    }

    func tokenURL(tenantID: String) -> String {
        authorityHost + PercentEncoding.encode(tenantID) + "/oauth2/v2.0/token"
    }

    func token(tenantID: String, clientID: String, secret: Secret, _ oauth: OAuth2, now: Date)
        async throws(ProviderError) -> OAuth2.AccessToken
    {
        let url = tokenURL(tenantID: tenantID)
        let answer = try await oauth.postForm(
            url,
            [
                ("client_id", clientID), ("scope", Self.registryScope), ("client_secret", secret.exposedValue),
                ("grant_type", "client_credentials"),
            ])
        return try oauth.accessToken(answer, url: url, now: now)
    }

    /// Workload identity: the file's token is the assertion. It is re-read on every call because the kubelet
    /// rotates it; an expired one fails before the network with `.expiredIdentity`.
    func token(tenantID: String, clientID: String, federatedTokenFile: String, _ oauth: OAuth2, now: Date)
        async throws(ProviderError) -> OAuth2.AccessToken
    {
        guard
            let bytes = try ProviderFile.read(federatedTokenFile, provider: "azure", what: "AZURE_FEDERATED_TOKEN_FILE")
        else {
            throw .misconfigured(
                provider: "azure", detail: "AZURE_FEDERATED_TOKEN_FILE \(federatedTokenFile) does not exist")
        }
        let assertion = String(decoding: bytes, as: UTF8.self).trimmingASCIIWhitespace()
        guard !assertion.isEmpty else {
            throw .misconfigured(provider: "azure", detail: "AZURE_FEDERATED_TOKEN_FILE \(federatedTokenFile) is empty")
        }
        return try await token(
            tenantID: tenantID, clientID: clientID, assertion: assertion, origin: federatedTokenFile, oauth, now: now)
    }

    /// The client-credentials grant with a federated token as `client_assertion`; `origin` names the token in
    /// messages (a file path, the kubelet request), never its value. An expired token fails before the network.
    func token(tenantID: String, clientID: String, assertion: String, origin: String, _ oauth: OAuth2, now: Date)
        async throws(ProviderError) -> OAuth2.AccessToken
    {
        if let expiry = TokenLifetime.jwtExpiry(assertion), expiry <= now {
            throw .expiredIdentity(provider: "azure", detail: "the federated token in \(origin) expired at \(expiry)")
        }
        let url = tokenURL(tenantID: tenantID)
        do {
            let answer = try await oauth.postForm(
                url,
                [
                    ("client_id", clientID), ("scope", Self.registryScope),
                    ("client_assertion_type", Self.assertionType),
                    ("client_assertion", assertion), ("grant_type", "client_credentials"),
                ])
            return try oauth.accessToken(answer, url: url, now: now)
        } catch {
            if case .rejected(_, _, Self.expiredAssertionCode, let message) = error {
                throw .expiredIdentity(provider: "azure", detail: "\(origin): \(message)")
            }
            throw error
        }
    }
}

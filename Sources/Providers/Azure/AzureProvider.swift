package import Credentials
internal import FoundationEssentials
package import Transport

/// Mints ACR credentials: an AAD token for `https://containerregistry.azure.net/.default`, exchanged at the
/// registry's `/oauth2/exchange` for an ACR refresh token, used as the password of
/// `00000000-0000-0000-0000-000000000000` (what `az acr login` writes).
///
/// AAD token sources, first that applies wins (DefaultAzureCredential's order): a client secret
/// (`AZURE_CLIENT_SECRET` in stored material or the environment), a federated token
/// (`AZURE_FEDERATED_TOKEN_FILE`, AKS workload identity), then a managed identity. Client and tenant ids come
/// from the config rule, then stored material, then the environment. With a pod's service-account token from
/// the kubelet (`tokenAttributes`), that token is the federated assertion instead, for the client and tenant the
/// service account's `azure.workload.identity/client-id` and `/tenant-id` annotations name. Only a managed-identity endpoint that
/// cannot be reached makes the answer "no source".
package struct AzureProvider: CredentialProvider {
    package static let username = "00000000-0000-0000-0000-000000000000"

    package let name = "azure"
    let httpClient: any HTTPClient

    package init(httpClient: any HTTPClient) { self.httpClient = httpClient }

    package func cacheIdentity(for request: MintRequest) -> String {
        (try? AzureCredentialSource.discover(request).source.cacheIdentity) ?? "unresolved"
    }

    /// The Entra ID authority, the managed-identity endpoint and the ACR exchange endpoint.
    package let mintingEnvironment = [
        "AZURE_AUTHORITY_HOST", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT",
        ACRTokenExchange.endpointVariable, "AZURE_FEDERATED_TOKEN_FILE",
    ]

    package func mint(_ request: MintRequest) async throws(ProviderError) -> MintedToken {
        let now = Date()
        let oauth = OAuth2(provider: name, client: httpClient)
        let (source, tried) = try AzureCredentialSource.discover(request)
        let aad = AADTokenEndpoint(environment: request.environment)
        let aadToken: OAuth2.AccessToken
        switch source {
        case .clientSecret(let tenant, let client, let secret):
            aadToken = try await aad.token(tenantID: tenant, clientID: client, secret: secret, oauth, now: now)
        case .federatedToken(let tenant, let client, let file):
            aadToken = try await aad.token(
                tenantID: tenant, clientID: client, federatedTokenFile: file, oauth, now: now)
        case .podToken(let tenant, let client, let token):
            aadToken = try await aad.token(
                tenantID: tenant, clientID: client, assertion: token.exposedValue,
                origin: "the kubelet request's service-account token", oauth, now: now)
        case .managedIdentity(let client):
            let identity = AzureManagedIdentity(environment: request.environment)
            do {
                aadToken = try await identity.token(clientID: client, oauth, now: now)
            } catch {
                if case .unreachable(_, _, let reason) = error {
                    throw .noSource(
                        provider: name, host: request.host,
                        tried: tried + ["managed identity at \(identity.name) (\(reason))"])
                }
                throw error
            }
        }
        // The exchange wants the tenant; a managed identity's comes from its token's `tid` claim.
        let tenant = source.tenantID ?? TokenLifetime.jwtClaims(aadToken.value.exposedValue)?["tid"]?.stringValue
        let exchange = ACRTokenExchange(registry: request.host, environment: request.environment)
        let refresh = try await exchange.refreshToken(
            registry: request.host, tenantID: tenant, aadToken: aadToken.value, oauth, now: now)
        try TokenLifetime.requireUsable(refresh.expiresAt, now: now, provider: name, endpoint: refresh.endpoint)
        return MintedToken(username: Self.username, secret: refresh.value, expiresAt: refresh.expiresAt)
    }
}

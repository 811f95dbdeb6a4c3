internal import Credentials

/// How an AAD token for the registry is obtained, worked out from stored material, the config rule and the
/// environment variables azure-identity's `EnvironmentCredential`, `WorkloadIdentityCredential` and
/// `ManagedIdentityCredential` read (DefaultAzureCredential's order). No network, no secret in any message.
enum AzureCredentialSource: Sendable {
    /// A service principal with a client secret.
    case clientSecret(tenantID: String, clientID: String, secret: Secret)
    /// Workload identity: a federated token (an AKS projected service-account token) as client assertion.
    case federatedToken(tenantID: String, clientID: String, tokenFile: String)
    /// A managed identity; `clientID` picks a user-assigned one.
    case managedIdentity(clientID: String?)
    /// Kubelet service-account-token mode: the pod's token from the request is the client assertion, as the
    /// projected token file is for `federatedToken`.
    case podToken(tenantID: String, clientID: String, token: Secret)

    var cacheIdentity: String {
        switch self {
        case .clientSecret(let tenant, let client, _): return "azure-sp:\(client)@\(tenant)"
        case .federatedToken(let tenant, let client, _): return "azure-wi:\(client)@\(tenant)"
        case .managedIdentity(let client?): return "azure-mi:\(client)"
        case .managedIdentity(nil): return "azure-mi"
        case .podToken(let tenant, let client, let token):
            // The token's `sub` (system:serviceaccount:NS:NAME) keeps two pods that share an application apart.
            let subject = TokenLifetime.jwtClaims(token.exposedValue)?["sub"]?.stringValue ?? "unknown"
            return "azure-pod-wi:\(client)@\(tenant)#\(subject)"
        }
    }

    /// The tenant the AAD token is issued in, when configuration says; the exchange form carries it.
    var tenantID: String? {
        switch self {
        case .clientSecret(let tenant, _, _), .federatedToken(let tenant, _, _), .podToken(let tenant, _, _):
            return tenant
        case .managedIdentity: return nil
        }
    }

    /// Picks the source. Each setting is looked up rule first, then stored material, then the environment, so a
    /// rule can pin the client and tenant while the secret comes from a mounted Secret's environment.
    /// A half-configured service principal (a secret without a tenant) is an error, not a silent fall-through to
    /// managed identity that would mint for a different principal.
    static func discover(_ request: MintRequest) throws(ProviderError) -> (
        source: AzureCredentialSource, tried: [String]
    ) {
        let stored = request.material?.credentials ?? [:]
        let environment = request.environment
        func setting(_ name: String, rule: String? = nil) -> String? {
            if let rule, !rule.isEmpty { return rule }
            if let value = stored[name]?.stringValue, !value.isEmpty { return value }
            return environment[name]
        }
        let clientID = setting("AZURE_CLIENT_ID", rule: request.identity.azureClientID)
        let tenantID = setting("AZURE_TENANT_ID", rule: request.identity.azureTenantID)
        if let token = request.serviceAccountToken {
            let source = try podTokenSource(token, tenantID: tenantID, clientID: clientID, hints: request.identityHints)
            return (source, ["the kubelet's service-account token"])
        }
        var tried: [String] = []
        if request.material != nil { tried.append("stored material") }

        tried.append("AZURE_CLIENT_SECRET")
        if let secret = setting("AZURE_CLIENT_SECRET") {
            let (tenant, client) = try require(tenantID, clientID, for: "AZURE_CLIENT_SECRET")
            return (.clientSecret(tenantID: tenant, clientID: client, secret: Secret(secret)), tried)
        }
        tried.append("AZURE_FEDERATED_TOKEN_FILE")
        if let tokenFile = setting("AZURE_FEDERATED_TOKEN_FILE") {
            let (tenant, client) = try require(tenantID, clientID, for: "AZURE_FEDERATED_TOKEN_FILE")
            return (.federatedToken(tenantID: tenant, clientID: client, tokenFile: tokenFile), tried)
        }
        return (.managedIdentity(clientID: clientID), tried)
    }

    /// The pod-token source, or what to annotate: a pod's token without a client id cannot fall back to the
    /// node's identity, which would hand the pod credentials that are not its own.
    private static func podTokenSource(
        _ token: Secret, tenantID: String?, clientID: String?, hints: [ProviderIdentity.Field: String]
    ) throws(ProviderError) -> AzureCredentialSource {
        guard let tenantID, let clientID else {
            let missing = [
                ("client id", clientID, hints[.azureClientID], "AZURE_CLIENT_ID"),
                ("tenant id", tenantID, hints[.azureTenantID], "AZURE_TENANT_ID"),
            ].filter { $0.1 == nil }
            let annotate = missing.compactMap(\.2)
            throw .misconfigured(
                provider: "azure",
                detail: "the kubelet passed a service-account token but no "
                    + missing.map(\.0).joined(separator: " or ") + " is known: "
                    + (annotate.isEmpty
                        ? "" : "annotate the service account with \(annotate.joined(separator: " and ")), or ")
                    + "set " + missing.map(\.3).joined(separator: " and ") + " for the plugin")
        }
        return .podToken(tenantID: tenantID, clientID: clientID, token: token)
    }

    private static func require(_ tenantID: String?, _ clientID: String?, for what: String) throws(ProviderError)
        -> (String, String)
    {
        let missing = [("AZURE_TENANT_ID", tenantID), ("AZURE_CLIENT_ID", clientID)].filter { $0.1 == nil }.map(\.0)
        guard let tenantID, let clientID else {
            throw .misconfigured(
                provider: "azure",
                detail: "\(what) is set but \(missing.joined(separator: " and ")) is not (set it in the environment, "
                    + "the stored material or the config rule)")
        }
        return (tenantID, clientID)
    }
}

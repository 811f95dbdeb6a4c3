internal import Crypto
package import FoundationEssentials
package import SystemSupport

/// Who a config rule says should mint for a registry. Every field is optional: a provider falls back to its
/// ambient chain (environment, files, metadata) for what the rule does not pin down. Holds names and paths,
/// never secrets, so it can be logged and be part of a cache key.
package struct ProviderIdentity: Sendable, Hashable, CustomStringConvertible {
    package var awsProfile: String?
    package var awsRoleARN: String?
    package var awsRegion: String?
    package var gcpKeyFile: String?
    package var gcpImpersonate: String?
    package var azureClientID: String?
    package var azureTenantID: String?
    /// The Workload Identity Federation provider (`//iam.googleapis.com/projects/N/locations/global/
    /// workloadIdentityPools/POOL/providers/PROV`) a kubelet-supplied service-account token is exchanged at.
    package var gcpWorkloadIdentityProvider: String?

    package init(
        awsProfile: String? = nil, awsRoleARN: String? = nil, awsRegion: String? = nil, gcpKeyFile: String? = nil,
        gcpImpersonate: String? = nil, azureClientID: String? = nil, azureTenantID: String? = nil,
        gcpWorkloadIdentityProvider: String? = nil
    ) {
        self.awsProfile = awsProfile
        self.awsRoleARN = awsRoleARN
        self.awsRegion = awsRegion
        self.gcpKeyFile = gcpKeyFile
        self.gcpImpersonate = gcpImpersonate
        self.azureClientID = azureClientID
        self.azureTenantID = azureTenantID
        self.gcpWorkloadIdentityProvider = gcpWorkloadIdentityProvider
    }

    /// The fields a pod's service account may set in kubelet token mode; `MintRequest.identityHints` says, per
    /// field, where a missing one is given (an annotation key), so a provider's error names it.
    package enum Field: String, Sendable, Hashable, CaseIterable {
        case awsRoleARN, gcpImpersonate, gcpWorkloadIdentityProvider, azureClientID, azureTenantID
    }

    package var description: String {
        let parts: [(String, String?)] = [
            ("profile", awsProfile), ("role", awsRoleARN), ("region", awsRegion), ("keyFile", gcpKeyFile),
            ("impersonate", gcpImpersonate), ("client", azureClientID), ("tenant", azureTenantID),
            ("wifProvider", gcpWorkloadIdentityProvider),
        ]
        return parts.compactMap { name, value in value.map { "\(name)=\($0)" } }.joined(separator: ",")
    }
}

/// Everything a provider needs to mint a registry token for one request.
package struct MintRequest: Sendable {
    /// The registry host the token is for (after config aliases are applied), e.g.
    /// `123456789012.dkr.ecr.eu-west-1.amazonaws.com`.
    package var host: String
    package var kind: HostKind
    /// Long-lived material stored for this registry (e.g. AWS keys), if any; it wins over ambient sources.
    package var material: CredentialMaterial?
    package var identity: ProviderIdentity
    package var environment: OcicredEnvironment
    /// A Kubernetes service-account token handed over by the kubelet (credential provider
    /// `tokenAttributes`, Kubernetes 1.33+): when set, it is the web-identity / federated token to exchange,
    /// in place of any token file named by the environment.
    package var serviceAccountToken: Secret?
    /// With a service-account token: where the caller takes each identity field from (the annotation keys of
    /// the kubelet's pod), so a provider missing one says what to annotate. Names only, never values.
    package var identityHints: [ProviderIdentity.Field: String] = [:]

    package init(
        host: String, kind: HostKind, material: CredentialMaterial? = nil, identity: ProviderIdentity = .init(),
        environment: OcicredEnvironment, serviceAccountToken: Secret? = nil
    ) {
        self.host = host
        self.kind = kind
        self.material = material
        self.identity = identity
        self.environment = environment
        self.serviceAccountToken = serviceAccountToken
    }
}

/// A short-lived registry credential a provider minted.
package struct MintedToken: Sendable, Equatable, CustomStringConvertible {
    package var username: String
    package var secret: Secret
    package var expiresAt: Date

    package init(username: String, secret: Secret, expiresAt: Date) {
        self.username = username
        self.secret = secret
        self.expiresAt = expiresAt
    }

    package var description: String { "MintedToken(username: \(username), expiresAt: \(expiresAt))" }
}

/// A cloud provider that turns an identity into a registry token (AWS → ECR, GCP → GCR/AR, Azure → ACR).
package protocol CredentialProvider: Sendable {
    /// "aws", "gcp" or "azure": the name errors and config rules use.
    var name: String { get }
    /// Who would mint, worked out without any network call (an access key id, a profile, a role ARN, a
    /// service-account email): the token cache keys on registry + this, so switching identity never serves
    /// another identity's token. Never a secret.
    func cacheIdentity(for request: MintRequest) -> String
    /// Environment variables that change where or how this provider mints (endpoint overrides, authority hosts,
    /// FIPS, metadata addresses): their values are part of the token cache's key, so a token minted against one
    /// endpoint is never served for another.
    var mintingEnvironment: [String] { get }
    /// Mints a token, or fails with the real cause. `.noSource` only when no source of identity exists.
    func mint(_ request: MintRequest) async throws(ProviderError) -> MintedToken
}

extension MintRequest {
    /// Everything that changes the token a provider mints for this request, as the token cache's key: the
    /// provider, who mints (`cacheIdentity`), the config rule's identity (role, region, profile, impersonation,
    /// client, tenant), the provider's endpoint environment and, in kubelet token mode, the pod token's hash.
    /// Never a secret: identities are ids and names, and the pod token only as a hash.
    func tokenCacheScope(_ provider: any CredentialProvider) -> String {
        var parts = [provider.name, provider.cacheIdentity(for: self), identity.description]
        for name in provider.mintingEnvironment {
            if let value = environment[name] { parts.append(name + "=" + value) }
        }
        if let token = serviceAccountToken { parts.append("pod-token=" + SHA256.hexDigest(token.exposedValue)) }
        return parts.joined(separator: "|")
    }
}

/// Why a provider could not mint. The distinction matters to the user: "nothing configured" needs setup,
/// "rejected" needs a fixed key or policy, "unreachable" needs network. No case carries a secret.
package enum ProviderError: Error, Equatable, CustomStringConvertible {
    /// No identity source exists; `tried` lists what was looked at, in order.
    case noSource(provider: String, host: String, tried: [String])
    /// The service answered and refused: `code` is its error code (SignatureDoesNotMatch, AccessDenied,
    /// invalid_grant, …), `message` its text.
    case rejected(provider: String, endpoint: String, code: String, message: String)
    case unreachable(provider: String, endpoint: String, reason: String)
    /// A web-identity or federated token file exists but its token has expired.
    case expiredIdentity(provider: String, detail: String)
    case invalidResponse(provider: String, endpoint: String, reason: String)
    case misconfigured(provider: String, detail: String)

    package var description: String {
        switch self {
        case .noSource(let provider, let host, let tried):
            return "no \(provider) credentials found for \(host); tried: \(tried.joined(separator: ", "))"
        case .rejected(let provider, let endpoint, let code, let message):
            return "\(provider): \(endpoint) rejected the request: \(code): \(message)"
        case .unreachable(let provider, let endpoint, let reason):
            return "\(provider): cannot reach \(endpoint): \(reason)"
        case .expiredIdentity(let provider, let detail):
            return "\(provider): the identity token has expired: \(detail)"
        case .invalidResponse(let provider, let endpoint, let reason):
            return "\(provider): unexpected answer from \(endpoint): \(reason)"
        case .misconfigured(let provider, let detail):
            return "\(provider): \(detail)"
        }
    }
}

internal import Credentials
internal import Crypto
internal import FoundationEssentials
internal import SystemSupport

/// Where a GCP access token comes from. Parsed from the JSON documents google-auth calls Application Default
/// Credentials (https://google.aip.dev/auth/4110), from stored material, or standing for the metadata server.
/// Parsing reads no network and no secret into a message; `cacheIdentity` names the principal, never a key.
indirect enum GCPCredentialSource: Sendable {
    /// A ready access token (the `GCP_ACCESS_TOKEN` seed convention); `expiresAt` nil when nobody said.
    case accessToken(Secret, expiresAt: Date?, origin: String)
    case serviceAccount(ServiceAccountKey)
    case authorizedUser(AuthorizedUser)
    case externalAccount(ExternalAccount)
    /// gcloud's `application-default login --impersonate-service-account`: a source credential whose token
    /// calls `generateAccessToken` at `url`.
    case impersonated(source: GCPCredentialSource, url: String, lifetimeSeconds: Int?)
    case metadataServer(host: String)

    /// The principal, as the token cache keys on it.
    var cacheIdentity: String {
        switch self {
        case .accessToken(let token, _, _): return "token:" + String(SHA256.hexDigest(token.exposedValue).prefix(16))
        case .serviceAccount(let key): return "sa:" + key.clientEmail
        case .authorizedUser(let user): return "user:" + user.clientID
        case .externalAccount(let account):
            let target = account.impersonationURL.flatMap(IAMCredentials.serviceAccount(inURL:)).map { ">" + $0 } ?? ""
            return "wif:" + account.audience + target
        case .impersonated(let source, let url, _):
            return source.cacheIdentity + ">" + (IAMCredentials.serviceAccount(inURL: url) ?? url)
        case .metadataServer: return "metadata"
        }
    }

    /// Parses one ADC document, whatever its `type`; `origin` (a path, "stored material") names it in errors.
    /// A document without `type` but with `private_key` and `client_email` is a service-account key, as stored
    /// material may hold the key's fields directly.
    static func parse(_ document: [String: JSONValue], origin: String) throws(ProviderError) -> GCPCredentialSource {
        let type = document["type"]?.stringValue
        switch type {
        case "service_account"?:
            return .serviceAccount(try ServiceAccountKey(document, origin: origin))
        case nil where document["private_key"] != nil && document["client_email"] != nil:
            return .serviceAccount(try ServiceAccountKey(document, origin: origin))
        case "authorized_user"?:
            return .authorizedUser(try AuthorizedUser(document, origin: origin))
        case nil where document["refresh_token"] != nil && document["client_id"] != nil:
            return .authorizedUser(try AuthorizedUser(document, origin: origin))
        case "external_account"?:
            return .externalAccount(try ExternalAccount(document, origin: origin))
        case nil where document["subject_token_type"] != nil:
            return .externalAccount(try ExternalAccount(document, origin: origin))
        case "impersonated_service_account"?:
            guard let url = document["service_account_impersonation_url"]?.stringValue,
                let source = document["source_credentials"]?.objectValue
            else {
                throw .misconfigured(
                    provider: "gcp",
                    detail: "\(origin): impersonated_service_account needs source_credentials and "
                        + "service_account_impersonation_url")
            }
            let lifetime = OAuth2.number(document["service_account_impersonation"]?["token_lifetime_seconds"])
            return .impersonated(
                source: try parse(source, origin: origin), url: url, lifetimeSeconds: lifetime.map { Int($0) })
        case let other?:
            throw .misconfigured(
                provider: "gcp",
                detail: "\(origin): credential type \"\(other)\" is not supported (service_account, authorized_user, "
                    + "external_account, impersonated_service_account are)")
        case nil:
            throw .misconfigured(
                provider: "gcp", detail: "\(origin): not a Google credential (no \"type\", no service-account fields)")
        }
    }

    /// Stored material's `credentials`: a ready `GCP_ACCESS_TOKEN`, a key JSON under `GCP_SERVICE_ACCOUNT_KEY`
    /// (as a string or an object), or an ADC document's fields directly. nil when none of them is there.
    static func fromMaterial(_ credentials: [String: JSONValue]) throws(ProviderError)
        -> GCPCredentialSource?
    {
        if let token = credentials["GCP_ACCESS_TOKEN"]?.stringValue, !token.isEmpty {
            return try accessToken(
                token, expiry: credentials["GCP_ACCESS_TOKEN_EXPIRY"]?.stringValue, origin: "stored GCP_ACCESS_TOKEN")
        }
        switch credentials["GCP_SERVICE_ACCOUNT_KEY"] {
        case .object(let document)?:
            return try parse(document, origin: "stored GCP_SERVICE_ACCOUNT_KEY")
        case .string(let text)?:
            guard let document = try? JSONValue.parseObject(Array(text.utf8)) else {
                throw .misconfigured(provider: "gcp", detail: "stored GCP_SERVICE_ACCOUNT_KEY is not a JSON key")
            }
            return try parse(document, origin: "stored GCP_SERVICE_ACCOUNT_KEY")
        default:
            break
        }
        let adcKeys = ["type", "private_key", "refresh_token", "subject_token_type"]
        guard adcKeys.contains(where: { credentials[$0] != nil }) else { return nil }
        return try parse(credentials, origin: "stored material")
    }

    /// A ready token with an optional RFC 3339 expiry; an expiry that does not parse is an error rather than a
    /// guess.
    static func accessToken(_ token: String, expiry: String?, origin: String) throws(ProviderError)
        -> GCPCredentialSource
    {
        guard let expiry, !expiry.isEmpty else { return .accessToken(Secret(token), expiresAt: nil, origin: origin) }
        guard let date = TokenLifetime.parseRFC3339(expiry) else {
            throw .misconfigured(
                provider: "gcp", detail: "GCP_ACCESS_TOKEN_EXPIRY is not an RFC 3339 time (like 2025-01-31T12:00:00Z)")
        }
        return .accessToken(Secret(token), expiresAt: date, origin: origin)
    }
}

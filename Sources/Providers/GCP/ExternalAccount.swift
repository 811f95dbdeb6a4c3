internal import Credentials
internal import Crypto
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// Workload Identity Federation (https://google.aip.dev/auth/4117): a token some other issuer gave this workload
/// (a Kubernetes projected token, a CI OIDC token) exchanged at Google's STS (RFC 8693), then optionally
/// traded for a service account's token. Sources: `credential_source.file` and `credential_source.url`, with
/// the subject token as plain text or a JSON field. The AWS (`environment_id`) and executable sources are not
/// supported; they fail as misconfigured rather than being skipped.
struct ExternalAccount: Sendable {
    static let defaultTokenURL = "https://sts.googleapis.com/v1/token"
    static let grantType = "urn:ietf:params:oauth:grant-type:token-exchange"
    static let requestedTokenType = "urn:ietf:params:oauth:token-type:access_token"

    enum Format: Sendable, Equatable {
        case text
        case json(field: String)
    }

    enum SubjectSource: Sendable {
        case file(path: String, format: Format)
        case url(String, headers: [(name: String, value: String)], format: Format)
        /// A token handed over whole: the pod's service-account token from a kubelet credential provider request.
        case given(Secret, origin: String)
    }

    var audience: String
    var subjectTokenType: String
    var tokenURL: String
    var subjectSource: SubjectSource
    var impersonationURL: String?
    var impersonationLifetime: Int?
    var clientID: String?
    var clientSecret: Secret?
    var workforcePoolUserProject: String?

    init(_ document: [String: JSONValue], origin: String) throws(ProviderError) {
        func fail(_ detail: String) -> ProviderError { .misconfigured(provider: "gcp", detail: "\(origin): \(detail)") }
        guard let audience = document["audience"]?.stringValue, !audience.isEmpty else {
            throw fail("an external_account credential needs an audience")
        }
        guard let subjectTokenType = document["subject_token_type"]?.stringValue, !subjectTokenType.isEmpty else {
            throw fail("an external_account credential needs a subject_token_type")
        }
        guard let source = document["credential_source"]?.objectValue else {
            throw fail("an external_account credential needs a credential_source")
        }
        let format: Format
        switch source["format"]?["type"]?.stringValue ?? "text" {
        case "text": format = .text
        case "json":
            guard let field = source["format"]?["subject_token_field_name"]?.stringValue, !field.isEmpty else {
                throw fail("credential_source.format of type json needs subject_token_field_name")
            }
            format = .json(field: field)
        case let other: throw fail("credential_source.format type \"\(other)\" is not text or json")
        }
        if let path = source["file"]?.stringValue {
            subjectSource = .file(path: path, format: format)
        } else if let url = source["url"]?.stringValue {
            let headers = (source["headers"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
                .compactMap { name, value in value.stringValue.map { (name: name, value: $0) } }
            subjectSource = .url(url, headers: headers, format: format)
        } else if source["environment_id"] != nil || source["executable"] != nil {
            throw fail("ocicred supports file and url credential sources, not AWS or executable ones")
        } else {
            throw fail("credential_source has neither file nor url")
        }
        self.audience = audience
        self.subjectTokenType = subjectTokenType
        tokenURL = document["token_url"]?.stringValue ?? Self.defaultTokenURL
        impersonationURL = document["service_account_impersonation_url"]?.stringValue
        impersonationLifetime = OAuth2.number(document["service_account_impersonation"]?["token_lifetime_seconds"])
            .map { Int($0) }
        clientID = document["client_id"]?.stringValue
        clientSecret = document["client_secret"]?.stringValue.map(Secret.init)
        workforcePoolUserProject = document["workforce_pool_user_project"]?.stringValue
    }

    /// Reads the subject token; an expired JWT fails here as `.expiredIdentity` (STS would only say
    /// invalid_grant), so the user learns the projected token is stale, not that the pool is misconfigured.
    func subjectToken(_ oauth: OAuth2, now: Date) async throws(ProviderError) -> String {
        let raw: [UInt8]
        let format: Format
        let origin: String
        switch subjectSource {
        case .file(let path, let fileFormat):
            guard let bytes = try ProviderFile.read(path, provider: "gcp", what: "the subject token file") else {
                throw .misconfigured(provider: "gcp", detail: "the subject token file \(path) does not exist")
            }
            (raw, format, origin) = (bytes, fileFormat, path)
        case .url(let url, let headers, let urlFormat):
            let response = try await oauth.send(HTTPRequest(url: url, headers: headers, timeout: .seconds(10)))
            guard (200..<300).contains(response.status) else {
                throw OAuth2.rejection(provider: "gcp", endpoint: OAuth2.endpointName(url), response: response)
            }
            (raw, format, origin) = (response.body, urlFormat, OAuth2.endpointName(url))
        case .given(let token, let givenOrigin):
            (raw, format, origin) = (Array(token.exposedValue.utf8), .text, givenOrigin)
        }
        let token: String
        switch format {
        case .text:
            token = String(decoding: raw, as: UTF8.self).trimmingASCIIWhitespace()
        case .json(let field):
            guard let object = try? JSONValue.parseObject(raw), let value = object[field]?.stringValue else {
                throw .invalidResponse(
                    provider: "gcp", endpoint: origin, reason: "the subject token JSON has no string field \(field)")
            }
            token = value
        }
        guard !token.isEmpty else {
            throw .invalidResponse(provider: "gcp", endpoint: origin, reason: "the subject token is empty")
        }
        if let expiry = TokenLifetime.jwtExpiry(token), expiry <= now {
            throw .expiredIdentity(
                provider: "gcp",
                detail: "the subject token from \(origin) expired at \(expiry); renew it (a "
                    + "projected service-account token is rotated by the kubelet)")
        }
        return token
    }

    /// The STS exchange, then the service-account impersonation the configuration names.
    func fetchToken(_ oauth: OAuth2, now: Date) async throws(ProviderError) -> OAuth2.AccessToken {
        let subject = try await subjectToken(oauth, now: now)
        var fields = [
            ("grant_type", Self.grantType), ("audience", audience),
            ("scope", ServiceAccountKey.cloudPlatformScope), ("requested_token_type", Self.requestedTokenType),
            ("subject_token", subject), ("subject_token_type", subjectTokenType),
        ]
        var headers: [(name: String, value: String)] = []
        if let clientID {
            let pair = clientID + ":" + (clientSecret?.exposedValue ?? "")
            headers.append(("Authorization", "Basic " + Base64.encode(Array(pair.utf8))))
        } else if let workforcePoolUserProject {
            // Workforce pools bill the user project when no client authenticates (google-auth's `options`).
            fields.append(("options", #"{"userProject":""# + workforcePoolUserProject + #""}"#))
        }
        let answer = try await oauth.postForm(tokenURL, fields, headers: headers)
        let federated = try oauth.accessToken(answer, url: tokenURL, now: now)
        guard let impersonationURL else { return federated }
        return try await IAMCredentials.generateAccessToken(
            url: impersonationURL, using: federated.value, lifetimeSeconds: impersonationLifetime, oauth, now: now)
    }
}

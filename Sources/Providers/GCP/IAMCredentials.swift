internal import Credentials
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// Service-account impersonation through the IAM Service Account Credentials API
/// (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken):
/// a caller's token buys a token of another service account it holds `roles/iam.serviceAccountTokenCreator` on.
enum IAMCredentials {
    static let defaultBaseURL = "https://iamcredentials.googleapis.com/"
    /// gcloud's own endpoint override (the `api_endpoint_overrides/iamcredentials` property), honoured so one
    /// setting serves gcloud and ocicred for private service connect endpoints, and tests.
    static let baseURLVariable = "CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS"

    /// The generateAccessToken URL for `serviceAccount`, on the default or overridden endpoint.
    static func url(for serviceAccount: String, environment: OcicredEnvironment) -> String {
        var base = environment[baseURLVariable] ?? defaultBaseURL
        if !base.hasSuffix("/") { base += "/" }
        return base + "v1/projects/-/serviceAccounts/" + PercentEncoding.encode(serviceAccount) + ":generateAccessToken"
    }

    /// The service account an impersonation URL names (`…/serviceAccounts/<email>:generateAccessToken`).
    static func serviceAccount(inURL url: String) -> String? {
        guard let range = url.range(of: "/serviceAccounts/") else { return nil }
        let rest = url[range.upperBound...]
        let email = rest.prefix { $0 != ":" && $0 != "?" }
        return email.isEmpty ? nil : String(email).replacingOccurrences(of: "%40", with: "@")
    }

    /// Calls generateAccessToken with `callerToken` as the bearer; the answer's `expireTime` is RFC 3339.
    static func generateAccessToken(
        url: String, using callerToken: Secret, lifetimeSeconds: Int?, _ oauth: OAuth2, now: Date
    ) async throws(ProviderError) -> OAuth2.AccessToken {
        let body: [String: JSONValue] = [
            "scope": .array([.string(ServiceAccountKey.cloudPlatformScope)]),
            "lifetime": .string("\(lifetimeSeconds ?? 3600)s"),
        ]
        let request = HTTPRequest(
            method: "POST", url: url,
            headers: [
                ("Authorization", "Bearer " + callerToken.exposedValue), ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            body: (try? JSONValue.serialize(body, pretty: false)) ?? [])
        let answer = try oauth.json(await oauth.send(request), url: url)
        let endpoint = OAuth2.endpointName(url)
        guard let token = answer["accessToken"]?.stringValue, !token.isEmpty else {
            throw .invalidResponse(provider: "gcp", endpoint: endpoint, reason: "the answer has no accessToken")
        }
        guard let text = answer["expireTime"]?.stringValue, let expiresAt = TokenLifetime.parseRFC3339(text) else {
            throw .invalidResponse(provider: "gcp", endpoint: endpoint, reason: "the answer has no RFC 3339 expireTime")
        }
        return OAuth2.AccessToken(value: Secret(token), expiresAt: expiresAt, endpoint: endpoint)
    }
}

internal import Credentials
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// AWS STS over its query protocol (form-encoded POST, XML answer), for the two calls the credential chain needs:
/// `AssumeRole` (signed with the source credentials: `role_arn` + `source_profile`/`credential_source`, or a
/// rule's role) and `AssumeRoleWithWebIdentity` (unsigned: the OIDC token is the proof — EKS IRSA, GitHub
/// Actions, `web_identity_token_file`). API reference: https://docs.aws.amazon.com/STS/latest/APIReference/.
struct STSClient: Sendable {
    let http: any HTTPClient
    let endpoint: AWSEndpoints.Endpoint
    let now: @Sendable () -> Date

    static let apiVersion = "2011-06-15"

    struct AssumeRoleInput: Equatable, Sendable {
        var roleARN: String
        var sessionName: String
        var externalID: String?
        var durationSeconds: Int?
    }

    func assumeRole(_ input: AssumeRoleInput, with credentials: AWSCredentials) async throws(ProviderError)
        -> AWSCredentials
    {
        var parameters = [
            ("Action", "AssumeRole"), ("Version", Self.apiVersion), ("RoleArn", input.roleARN),
            ("RoleSessionName", input.sessionName),
        ]
        if let externalID = input.externalID { parameters.append(("ExternalId", externalID)) }
        if let duration = input.durationSeconds { parameters.append(("DurationSeconds", String(duration))) }
        var request = Self.formRequest(url: endpoint.url, parameters: parameters)
        try SigV4(credentials: credentials, region: endpoint.region, service: endpoint.signingName)
            .sign(&request, date: now())
        return try await send(request, result: "AssumeRoleResult", isWebIdentity: false)
    }

    /// The token goes in the body only (never a URL or argument); the request carries no signature, as the API
    /// requires.
    func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, token: Secret) async throws(ProviderError)
        -> AWSCredentials
    {
        let request = Self.formRequest(
            url: endpoint.url,
            parameters: [
                ("Action", "AssumeRoleWithWebIdentity"), ("Version", Self.apiVersion), ("RoleArn", roleARN),
                ("RoleSessionName", sessionName), ("WebIdentityToken", token.exposedValue),
            ])
        return try await send(request, result: "AssumeRoleWithWebIdentityResult", isWebIdentity: true)
    }

    static func formRequest(url: String, parameters: [(String, String)]) -> HTTPRequest {
        let body = PercentEncoding.form(parameters)
        return HTTPRequest(
            method: "POST", url: url,
            headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")],
            body: Array(body.utf8), timeout: .seconds(30), connectTimeout: .seconds(10))
    }

    private func send(_ request: HTTPRequest, result: String, isWebIdentity: Bool) async throws(ProviderError)
        -> AWSCredentials
    {
        let response = try await endpoint.send(request, with: http)
        guard (200..<300).contains(response.status) else {
            // An expired OIDC token is the one failure the user fixes by refreshing the token file, not the policy.
            if isWebIdentity, let error = AWSServiceError.parse(response), error.code == "ExpiredTokenException" {
                throw .expiredIdentity(provider: "aws", detail: error.message)
            }
            throw AWSServiceError.rejection(response, endpoint: endpoint.url)
        }
        return try Self.parseCredentials(response.bodyText, result: result, endpoint: endpoint.url)
    }

    /// Reads `<Credentials>` out of an `…Result` element.
    static func parseCredentials(_ xml: String, result: String, endpoint: String) throws(ProviderError)
        -> AWSCredentials
    {
        let resultText = XMLText.first(result, in: xml) ?? xml
        guard let credentials = XMLText.first("Credentials", in: resultText),
            let id = XMLText.first("AccessKeyId", in: credentials),
            let secret = XMLText.first("SecretAccessKey", in: credentials),
            let token = XMLText.first("SessionToken", in: credentials)
        else {
            throw .invalidResponse(provider: "aws", endpoint: endpoint, reason: "no Credentials in the \(result)")
        }
        let expiration = XMLText.first("Expiration", in: credentials).flatMap(RFC3339.parse)
        return AWSCredentials(
            accessKeyID: id, secretAccessKey: Secret(secret), sessionToken: Secret(token), expiration: expiration)
    }
}

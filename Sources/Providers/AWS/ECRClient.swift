internal import Credentials
internal import Crypto
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// `GetAuthorizationToken` for ECR private (`AmazonEC2ContainerRegistry_V20150921`) and ECR Public
/// (`SpencerFrontendService`), both AWS JSON 1.1: `POST /` with `X-Amz-Target`, body `{}`. The token is base64 of
/// `AWS:<password>`; ECR private answers a list `authorizationData`, ECR Public a single object; `expiresAt` is
/// epoch seconds (JSON 1.1 timestamps).
struct ECRClient: Sendable {
    let http: any HTTPClient
    let now: @Sendable () -> Date

    enum Registry: Sendable {
        case privateRegistry
        case publicRegistry

        var target: String {
            switch self {
            case .privateRegistry: return "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
            case .publicRegistry: return "SpencerFrontendService.GetAuthorizationToken"
            }
        }
    }

    func getAuthorizationToken(
        _ registry: Registry, endpoint: AWSEndpoints.Endpoint, credentials: AWSCredentials
    ) async throws(ProviderError) -> MintedToken {
        var request = HTTPRequest(
            method: "POST", url: endpoint.url,
            headers: [
                (name: "Content-Type", value: "application/x-amz-json-1.1"),
                (name: "X-Amz-Target", value: registry.target),
            ],
            body: Array("{}".utf8), timeout: .seconds(30), connectTimeout: .seconds(10))
        try SigV4(credentials: credentials, region: endpoint.region, service: endpoint.signingName)
            .sign(&request, date: now())
        let response = try await endpoint.send(request, with: http)
        guard (200..<300).contains(response.status) else {
            throw AWSServiceError.rejection(response, endpoint: endpoint.url)
        }
        return try Self.parseToken(response.body, endpoint: endpoint.url)
    }

    static func parseToken(_ body: [UInt8], endpoint: String) throws(ProviderError) -> MintedToken {
        func invalid(_ reason: String) -> ProviderError {
            .invalidResponse(provider: "aws", endpoint: endpoint, reason: reason)
        }
        guard let object = try? JSONValue.parseObject(body) else { throw invalid("the answer is not a JSON object") }
        let data: [String: JSONValue]?
        switch object["authorizationData"] {
        case .array(let items)?: data = items.first?.objectValue
        case .object(let item)?: data = item
        default: data = nil
        }
        guard let data, let encoded = data["authorizationToken"]?.stringValue else {
            throw invalid("no authorizationData.authorizationToken")
        }
        guard let decoded = Base64.decode(encoded) else { throw invalid("authorizationToken is not base64") }
        let text = String(decoding: decoded, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw invalid("authorizationToken is not `user:password`")
        }
        let username = String(text[..<colon])
        let password = String(text[text.index(after: colon)...])
        let expiresAt: Date
        switch data["expiresAt"] {
        case .integer(let seconds)?: expiresAt = Date(timeIntervalSince1970: Double(seconds))
        case .number(let seconds)?: expiresAt = Date(timeIntervalSince1970: seconds)
        case .string(let text)?:
            guard let date = RFC3339.parse(text) ?? Double(text).map(Date.init(timeIntervalSince1970:)) else {
                throw invalid("expiresAt is not a time: \(text)")
            }
            expiresAt = date
        default: throw invalid("no expiresAt")
        }
        return MintedToken(username: username, secret: Secret(password), expiresAt: expiresAt)
    }
}

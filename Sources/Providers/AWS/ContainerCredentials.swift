internal import Credentials
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// The container credential provider (ECS task roles, EKS Pod Identity), as the SDKs define it
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html):
/// - `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is appended to `http://169.254.170.2`;
/// - else `AWS_CONTAINER_CREDENTIALS_FULL_URI`, which over plain HTTP must name a loopback host or the ECS/EKS
///   link-local agents (169.254.170.2, 169.254.170.23, fd00:ec2::23) — so a token is never sent in clear text to
///   an arbitrary host;
/// - the `Authorization` header comes from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read on every call, the
///   agent rotates it — EKS Pod Identity) or else `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
struct ContainerCredentials: Sendable {
    let http: any HTTPClient
    let environment: OcicredEnvironment

    static let ecsHost = "http://169.254.170.2"
    static let allowedHTTPHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]

    /// Whether the environment configures this provider at all (then its failures are real failures).
    static func isConfigured(_ environment: OcicredEnvironment) -> Bool {
        environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] != nil
            || environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] != nil
    }

    func endpoint() throws(ProviderError) -> String {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            return Self.ecsHost + (relative.hasPrefix("/") ? relative : "/" + relative)
        }
        guard let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] else {
            throw .misconfigured(provider: "aws", detail: "container credentials are not configured")
        }
        let url: HTTPURL
        do {
            url = try HTTPURL(full)
        } catch {
            throw .misconfigured(provider: "aws", detail: "AWS_CONTAINER_CREDENTIALS_FULL_URI: \(error)")
        }
        if url.scheme == "http", !url.isLoopback, !Self.allowedHTTPHosts.contains(url.host) {
            throw .misconfigured(
                provider: "aws",
                detail: "AWS_CONTAINER_CREDENTIALS_FULL_URI over http must name a loopback or the ECS/EKS agent "
                    + "address, not \(url.host); use https")
        }
        return full
    }

    func authorizationToken() throws(ProviderError) -> String? {
        if let path = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] {
            guard let text = try LocalFile.readText(path) else {
                throw .misconfigured(
                    provider: "aws", detail: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(path) does not exist")
            }
            return text.trimmingASCIIWhitespace()
        }
        return environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    }

    func fetch() async throws(ProviderError) -> AWSCredentials {
        let url = try endpoint()
        var headers: [(name: String, value: String)] = [(name: "Accept", value: "application/json")]
        if let token = try authorizationToken() {
            // A header value must not carry a line break: it would split the request (header injection).
            guard !token.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                throw .misconfigured(provider: "aws", detail: "the container authorization token contains a newline")
            }
            headers.append((name: "Authorization", value: token))
        }
        let request = HTTPRequest(
            method: "GET", url: url, headers: headers, timeout: .seconds(5), connectTimeout: .seconds(2))
        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch {
            throw AWSServiceError.unreachable(error, endpoint: url)
        }
        guard (200..<300).contains(response.status) else {
            throw AWSServiceError.rejection(response, endpoint: url)
        }
        return try Self.parseCredentialsJSON(response.body, endpoint: url)
    }

    /// The JSON shape the container agents and IMDS share: `AccessKeyId`, `SecretAccessKey`, `Token`,
    /// `Expiration` (ISO 8601).
    static func parseCredentialsJSON(_ body: [UInt8], endpoint: String) throws(ProviderError) -> AWSCredentials {
        guard let object = try? JSONValue.parseObject(body) else {
            throw .invalidResponse(provider: "aws", endpoint: endpoint, reason: "the answer is not a JSON object")
        }
        guard let id = object["AccessKeyId"]?.stringValue, let secret = object["SecretAccessKey"]?.stringValue
        else {
            throw .invalidResponse(
                provider: "aws", endpoint: endpoint, reason: "the answer has no AccessKeyId/SecretAccessKey")
        }
        let token = (object["Token"] ?? object["SessionToken"])?.stringValue.map(Secret.init)
        let expiration = object["Expiration"]?.stringValue.flatMap(RFC3339.parse)
        return AWSCredentials(
            accessKeyID: id, secretAccessKey: Secret(secret), sessionToken: token, expiration: expiration)
    }
}

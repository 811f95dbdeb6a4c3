internal import Credentials
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// EC2 instance-profile credentials through IMDSv2
/// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html):
/// `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`, then the role name and its credentials
/// with `X-aws-ec2-metadata-token`. No IMDSv1 fallback: instances that require v2 reject it anyway, and a v1
/// answer is exactly what an SSRF proxy can forge.
///
/// The first call has a one-second budget: off EC2 nothing answers 169.254.169.254 and the packets vanish, and
/// ecr-login's default chain waits minutes there (amazon-ecr-credential-helper #137). A closed or silent endpoint
/// means "no instance metadata" and the chain ends in `.noSource`.
struct InstanceMetadata: Sendable {
    let http: any HTTPClient
    let environment: OcicredEnvironment
    /// Budget for the token request, connection included.
    var probeTimeout: Duration = .seconds(1)

    static let defaultEndpoint = "http://169.254.169.254"
    static let defaultIPv6Endpoint = "http://[fd00:ec2::254]"
    static let tokenTTLSeconds = 21600

    /// `AWS_EC2_METADATA_DISABLED=true` turns the provider off, as in every SDK.
    var isDisabled: Bool { environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" }

    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else the IPv6 address when `…_ENDPOINT_MODE=IPv6`, else the IPv4 one.
    var endpoint: String {
        if let explicit = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] {
            return explicit.hasSuffix("/") ? String(explicit.dropLast()) : explicit
        }
        if environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() == "ipv6" {
            return Self.defaultIPv6Endpoint
        }
        return Self.defaultEndpoint
    }

    enum Outcome {
        case credentials(AWSCredentials)
        /// Nothing there (unreachable, no role attached): a reason for the `.noSource` list.
        case absent(String)
    }

    func fetch() async throws(ProviderError) -> Outcome {
        let base = endpoint
        let tokenRequest = HTTPRequest(
            method: "PUT", url: base + "/latest/api/token",
            headers: [(name: "X-aws-ec2-metadata-token-ttl-seconds", value: String(Self.tokenTTLSeconds))],
            timeout: probeTimeout, connectTimeout: probeTimeout, maxResponseBytes: 4096)
        let tokenResponse: HTTPResponse
        do {
            tokenResponse = try await http.send(tokenRequest)
        } catch {
            return .absent("\(base) did not answer (\(error))")
        }
        guard tokenResponse.status == 200 else {
            return .absent("\(base) refused an IMDSv2 token (HTTP \(tokenResponse.status))")
        }
        let token = tokenResponse.bodyText.trimmingASCIIWhitespace()
        let headers = [(name: "X-aws-ec2-metadata-token", value: token)]
        let listURL = base + "/latest/meta-data/iam/security-credentials/"
        let list = try await get(listURL, headers: headers)
        if list.status == 404 { return .absent("the instance has no IAM role attached") }
        guard list.status == 200 else { throw AWSServiceError.rejection(list, endpoint: listURL) }
        guard let role = list.bodyText.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            return .absent("the instance has no IAM role attached")
        }
        let credentialsURL = listURL + role
        let answer = try await get(credentialsURL, headers: headers)
        guard answer.status == 200 else { throw AWSServiceError.rejection(answer, endpoint: credentialsURL) }
        if let object = try? JSONValue.parseObject(answer.body), let code = object["Code"]?.stringValue,
            code != "Success"
        {
            throw .rejected(
                provider: "aws", endpoint: credentialsURL, code: code,
                message: object["Message"]?.stringValue ?? "")
        }
        return .credentials(try ContainerCredentials.parseCredentialsJSON(answer.body, endpoint: credentialsURL))
    }

    private func get(_ url: String, headers: [(name: String, value: String)]) async throws(ProviderError)
        -> HTTPResponse
    {
        do {
            return try await http.send(
                HTTPRequest(
                    method: "GET", url: url, headers: headers, timeout: .seconds(2), connectTimeout: probeTimeout,
                    maxResponseBytes: 65536))
        } catch {
            throw AWSServiceError.unreachable(error, endpoint: url)
        }
    }
}

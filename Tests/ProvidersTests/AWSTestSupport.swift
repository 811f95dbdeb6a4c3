import Credentials
import Foundation
import Synchronization
import SystemSupport
import TestSupport
import Testing
import Transport

@testable import Providers

/// The AWS tests that start processes (moto_server, aws_fixtures.py) run one at a time: moto's start-up is
/// seconds of CPU, and on a 2-core runner it would otherwise stretch the one-second IMDS bound that
/// `noSourceFailsFastAndListsWhatWasTried` measures.
@Suite(.serialized) struct AWSIntegrationTests {}

/// What a test can assert about the requests the provider sent, without their secrets.
struct AWSRecordedRequest: Sendable {
    var method: String
    var url: String
    /// `X-Amz-Target` for JSON calls, `Action` for STS query calls.
    var operation: String
    /// The access key id in the `Authorization` header's credential scope; nil for unsigned requests.
    var signedBy: String?
}

/// Sends through the real libcurl client and records each request's shape.
final class RecordingHTTPClient: HTTPClient {
    let inner: any HTTPClient
    private let records = Mutex<[AWSRecordedRequest]>([])

    init(_ inner: any HTTPClient = CurlHTTPClient()) { self.inner = inner }

    var requests: [AWSRecordedRequest] { records.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let header = { (name: String) in request.headers.first { $0.name.lowercased() == name }?.value }
        var operation = header("x-amz-target") ?? ""
        if operation.isEmpty {
            let body = String(decoding: request.body, as: UTF8.self)
            operation =
                body.split(separator: "&").first { $0.hasPrefix("Action=") }.map { String($0.dropFirst(7)) }
                ?? ""
        }
        let signedBy = header("authorization").flatMap { value -> String? in
            guard let range = value.range(of: "Credential=") else { return nil }
            return value[range.upperBound...].split(separator: "/").first.map(String.init)
        }
        let record = AWSRecordedRequest(
            method: request.method, url: request.url, operation: operation, signedBy: signedBy)
        records.withLock { $0.append(record) }
        return try await inner.send(request)
    }
}

enum AWSTestEnvironment {
    /// An environment with nothing ambient: HOME in `directory` (no ~/.aws), no keys, IMDS off unless a test
    /// points it somewhere. PATH is kept so credential_process can find programs.
    static func empty(home: String, _ extra: [String: String] = [:]) -> OcicredEnvironment {
        var values = [
            "HOME": home, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "AWS_EC2_METADATA_DISABLED": "true",
        ]
        for (key, value) in extra { values[key] = value }
        return OcicredEnvironment(values)
    }

    /// `empty` plus the static keys `id`/`secret` and the endpoint override `variable` (every service, unless the
    /// test names one): what most tests against moto or the ECR fixture set up.
    static func keys(
        home: String, id: String, secret: String, endpoint: String, variable: String = "AWS_ENDPOINT_URL"
    ) -> OcicredEnvironment {
        empty(home: home, ["AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, variable: endpoint])
    }

    static func write(_ text: String, to path: String, mode: Int = 0o600) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// An unsigned JWT-shaped token whose `exp` claim is `expiresIn` seconds from now (negative: already expired).
    static func webIdentityToken(expiresIn: Double) -> String {
        func encode(_ json: String) -> String {
            Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let exp = Int(Date().timeIntervalSince1970 + expiresIn)
        return encode(#"{"alg":"RS256","typ":"JWT"}"#) + "."
            + encode(
                #"{"iss":"\#(webIdentityIssuer)","sub":"system:serviceaccount:ci:puller","aud":"sts.amazonaws.com","#
                    + #""exp":\#(exp)}"#)
            + ".c2lnbmF0dXJl"
    }

    /// The EKS cluster's OIDC issuer the tokens name and the fixture's STS trusts.
    static let webIdentityIssuer = "https://oidc.eks.us-east-1.amazonaws.com/id/FIXTURE"

    static let privateHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    static let privateKind = HostKind.ecrPrivate(accountID: "123456789012", region: "us-east-1", fips: false)
}

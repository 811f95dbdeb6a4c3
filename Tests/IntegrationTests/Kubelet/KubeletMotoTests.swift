import Foundation
import TestSupport
import Testing

/// `ocicred kubelet` in service-account-token mode (Kubernetes 1.33+ `tokenAttributes`), against moto: the
/// pod's token from the request is the web identity exchanged at STS for the role its service account names,
/// and the ECR call after it is signature-checked with the session credentials STS handed out.
@Suite(.serialized)
struct KubeletMotoTests {
    static func podToken() -> String {
        func encode(_ json: String) -> String {
            Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let exp = Int(Date().timeIntervalSince1970 + 3600)
        return encode(#"{"alg":"RS256","typ":"JWT"}"#) + "."
            + encode(#"{"sub":"system:serviceaccount:ci:puller","aud":"sts.amazonaws.com","exp":\#(exp)}"#)
            + ".c2lnbmF0dXJl"
    }

    func request(image: String, token: String, roleARN: String?) -> String {
        let annotations =
            roleARN.map { #","serviceAccountAnnotations":{"eks.amazonaws.com/ecr-role-arn":"\#($0)"}"# } ?? ""
        return
            #"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"\#(image)","serviceAccountToken":"\#(token)"\#(annotations)}"#
    }

    @Test func thePodsTokenIsExchangedForTheAnnotatedRoleAndAnECRToken() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let env = [
            "AWS_ENDPOINT_URL": moto.endpoint, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": dir.file("none"), "AWS_SHARED_CREDENTIALS_FILE": dir.file("none"),
        ]
        // moto cannot authenticate an unsigned AssumeRoleWithWebIdentity; exactly that one call is let through.
        try moto.allowUnauthenticatedActions(1)
        let token = Self.podToken()
        let result = try OcicredBinary.run(
            ["kubelet"], home: dir.path,
            stdin: request(
                image: "\(moto.accountID).dkr.ecr.us-east-1.amazonaws.com/team/app:1", token: token,
                roleARN: moto.roleARN),
            extraEnvironment: env)
        #expect(result.status == 0, "\(result)")
        let response = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        #expect(Set(response.keys) == ["kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"])
        let auth = try #require(response["auth"] as? [String: [String: String]])
        let entry = try #require(auth["\(moto.accountID).dkr.ecr.us-east-1.amazonaws.com"])
        #expect(entry["username"] == "AWS")
        #expect((entry["password"] ?? "").isEmpty == false)
        #expect(!result.stderrText.contains(token))
    }

    @Test func withoutARoleTheAnswerSaysWhatToAnnotate() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try OcicredBinary.run(
            ["kubelet"], home: dir.path,
            stdin: request(
                image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1", token: Self.podToken(),
                roleARN: nil),
            extraEnvironment: ["AWS_EC2_METADATA_DISABLED": "true"])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderrText.contains("eks.amazonaws.com/ecr-role-arn"), "\(result)")
    }
}

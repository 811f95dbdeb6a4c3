import Credentials
import Foundation
import Testing

@Suite("credential material")
struct CredentialMaterialTests {
    @Test("the versioned shape round-trips, unknown keys included")
    func versionedRoundTrip() throws {
        let text = """
            {"version":1,"registry":"123456789012.dkr.ecr.us-east-1.amazonaws.com","type":"aws",
             "credentials":{"AWS_ACCESS_KEY_ID":"AKIDFAKEEXAMPLE","AWS_SECRET_ACCESS_KEY":"fake/secret","X_FUTURE":[1,2]},
             "labels":{"team":"build"},"rotation":3}
            """
        let material = try CredentialMaterial.parse(text, registry: "ignored.example")
        #expect(material.type == .aws)
        #expect(material.registry == "123456789012.dkr.ecr.us-east-1.amazonaws.com")
        #expect(material.credentials["X_FUTURE"] == .array([.integer(1), .integer(2)]))
        #expect(material.unknownFields["labels"] == .object(["team": .string("build")]))
        #expect(material.unknownFields["rotation"] == .integer(3))
        let again = try CredentialMaterial.parse(String(decoding: material.serialized(), as: UTF8.self), registry: "x")
        #expect(again == material)
    }

    @Test("legacy username:password keeps every colon after the first in the password")
    func legacyColon() throws {
        let material = try CredentialMaterial.parse("robot$ci:pa:ss:word", registry: "registry.example.com")
        #expect(material.type == .basic)
        let credential = try #require(material.staticCredential())
        #expect(credential.username == "robot$ci")
        #expect(credential.secret.exposedValue == "pa:ss:word")
    }

    @Test("empty material is a clear error", arguments: ["", "   ", "\n\t"])
    func empty(text: String) {
        #expect(throws: CredentialError.materialEmpty) { try CredentialMaterial.parse(text, registry: "r.example") }
    }

    @Test(
        "garbage is a clear error that does not echo the input",
        arguments: [
            "just-a-token-without-colon", "{not json", ":nouser", "{\"version\":\"1\"}",
            "{\"version\":1,\"credentials\":[]}",
        ])
    func garbage(text: String) {
        do throws(CredentialError) {
            _ = try CredentialMaterial.parse(text, registry: "r.example")
            Issue.record("expected an error for \(text)")
        } catch {
            guard case .materialUnparsable = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(!error.description.contains(text))
        }
    }

    @Test("a newer version is refused with an upgrade hint")
    func futureVersion() {
        #expect(throws: CredentialError.materialUnsupportedVersion(2)) {
            try CredentialMaterial.parse("{\"version\":2,\"credentials\":{}}", registry: "r.example")
        }
    }

    @Test("an unknown type is refused naming the known ones")
    func unknownType() {
        #expect(throws: CredentialError.materialUnknownType("vault")) {
            try CredentialMaterial.parse("{\"version\":1,\"type\":\"vault\"}", registry: "r.example")
        }
    }

    @Test(
        "type detection from keys comes before the host",
        arguments: [
            ("{\"AWS_ACCESS_KEY_ID\":\"a\",\"AWS_SECRET_ACCESS_KEY\":\"b\"}", "ghcr.io", CredentialType.aws),
            ("{\"GCP_ACCESS_TOKEN\":\"ya29.x\"}", "registry.example.com", .gcp),
            (
                "{\"type\":\"service_account\",\"private_key\":\"k\",\"client_email\":\"a@b.iam.gserviceaccount.com\"}",
                "registry.example.com", .gcp
            ),
            ("{\"AZURE_CLIENT_ID\":\"c\",\"AZURE_TENANT_ID\":\"t\"}", "registry.example.com", .azure),
            ("{\"NGC_API_KEY\":\"k\"}", "registry.example.com", .ngc),
            ("{\"GITHUB_TOKEN\":\"ghp_x\"}", "registry.example.com", .github),
            ("{\"DOCKERHUB_USERNAME\":\"u\",\"DOCKERHUB_TOKEN\":\"t\"}", "ghcr.io", .dockerhub),
            ("{\"USERNAME\":\"u\",\"PASSWORD\":\"p\"}", "123456789012.dkr.ecr.us-east-1.amazonaws.com", .basic),
            ("{\"version\":1,\"credentials\":{\"NGC_API_KEY\":\"k\"}}", "ghcr.io", .ngc),
        ])
    func detectFromKeys(text: String, host: String, expected: CredentialType) throws {
        #expect(try CredentialMaterial.parse(text, registry: host).type == expected)
    }

    @Test(
        "with no telling keys the host decides",
        arguments: [
            ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", CredentialType.aws),
            ("public.ecr.aws", .aws),
            ("us-docker.pkg.dev", .gcp),
            ("gcr.io", .gcp),
            ("myregistry.azurecr.io", .azure),
            ("nvcr.io", .ngc),
            ("ghcr.io", .github),
            ("docker.io", .dockerhub),
            ("registry.example.com", .basic),
        ])
    func detectFromHost(host: String, expected: CredentialType) throws {
        let text = "{\"version\":1,\"credentials\":{\"SOMETHING\":\"x\"}}"
        #expect(try CredentialMaterial.parse(text, registry: host).type == expected)
    }

    @Test("static types hand out their conventional usernames")
    func staticUsernames() throws {
        let ngc = try CredentialMaterial.parse("{\"NGC_API_KEY\":\"nvapi-fake\"}", registry: "nvcr.io")
        #expect(ngc.staticCredential()?.username == "$oauthtoken")
        let token = CredentialMaterial.fromHelper(serverURL: "r.example", username: "<token>", secret: Secret("idt"))
        #expect(token.type == .token)
        #expect(token.staticCredential()?.username == "<token>")
        #expect(token.staticCredential()?.secret.exposedValue == "idt")
        let aws = try CredentialMaterial.parse("{\"AWS_ACCESS_KEY_ID\":\"a\"}", registry: "r.example")
        #expect(aws.staticCredential() == nil)
    }

    @Test("material never prints its secrets")
    func redacted() throws {
        let material = try CredentialMaterial.parse("user:hunter2-secret", registry: "r.example")
        #expect(!"\(material)".contains("hunter2"))
        #expect(!String(reflecting: Secret("hunter2")).contains("hunter2"))
        var dumped = ""
        dump(Secret("hunter2"), to: &dumped)
        #expect(!dumped.contains("hunter2"))
    }

    @Test("secret names are oci-creds- and the first 16 hex digits of sha256(registry)")
    func secretNames() {
        let expected = "oci-creds-" + String(sha256Hex("registry.example.com").prefix(16))
        #expect(SecretName.forRegistry("registry.example.com") == expected)
        #expect(SecretName.forRegistry("registry.example.com") == SecretName.forRegistry("registry.example.com"))
        #expect(SecretName.forRegistry("a.example") != SecretName.forRegistry("b.example"))
        #expect(expected.count == "oci-creds-".count + 16)
    }

    private func sha256Hex(_ text: String) -> String {
        // Independent implementation: coreutils' sha256sum.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try? process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}

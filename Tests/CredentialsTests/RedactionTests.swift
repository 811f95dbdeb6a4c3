import FoundationEssentials
import SystemSupport
import TestSupport
import Testing

@testable import Credentials

/// Every Credentials type that holds a secret, printed and reflected every way Swift allows: the canary never
/// shows (`RedactionProbe`), whatever shape the material came in.
@Suite("credential types redact under print, dump and Mirror")
struct RedactionTests {
    static let canary = "redaction-canary-7f3a"

    static var materials: [(String, CredentialMaterial)] {
        get throws {
            [
                ("basic", try CredentialMaterial.parse("user:\(canary)", registry: "r.example")),
                (
                    "helper token",
                    CredentialMaterial.fromHelper(serverURL: "r.example", username: "<token>", secret: Secret(canary))
                ),
                (
                    "aws",
                    try CredentialMaterial.parse(
                        #"{"AWS_ACCESS_KEY_ID":"AKIDEXAMPLE","AWS_SECRET_ACCESS_KEY":"\#(canary)"}"#,
                        registry: "r.example")
                ),
                (
                    "gcp key",
                    try CredentialMaterial.parse(
                        #"{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key":"\#(canary)"}"#,
                        registry: "gcr.io")
                ),
                (
                    "versioned with unknown keys",
                    try CredentialMaterial.parse(
                        #"{"version":1,"registry":"r.example","type":"basic","credentials":{"USERNAME":"u","PASSWORD":"\#(canary)"},"extra":"\#(canary)"}"#,
                        registry: "r.example")
                ),
            ]
        }
    }

    @Test func credentialMaterialOfEveryShape() throws {
        for (name, material) in try Self.materials {
            #expect(RedactionProbe.leaks(of: material, secret: Self.canary).isEmpty, "\(name)")
        }
    }

    @Test func authFilesCredentialsAndCachedTokens() throws {
        let encoded = Data("user:\(Self.canary)".utf8).base64EncodedString()
        let file = try AuthFile.parse(
            Array(
                #"{"auths":{"a.example":{"auth":"\#(encoded)"},"b.example":{"identitytoken":"\#(Self.canary)"}}}"#.utf8)
        )
        let values: [(String, Any)] = [
            ("auth file", file),
            ("credential", Credential(username: "u", secret: Secret(Self.canary), source: .store(path: "/s"))),
            ("minted token", MintedToken(username: "u", secret: Secret(Self.canary), expiresAt: Date())),
            (
                "token cache entry",
                TokenCache.Entry(username: "u", secret: Secret(Self.canary), issuedAt: Date(), expiresAt: Date())
            ),
            ("secret", Secret(Self.canary)),
        ]
        for (name, value) in values {
            #expect(RedactionProbe.leaks(of: value, secret: Self.canary).isEmpty, "\(name)")
            #expect(RedactionProbe.leaks(of: value, secret: encoded).isEmpty, "\(name), base64")
        }
    }

    /// The probe itself finds a secret where one is: a test that cannot fail proves nothing.
    @Test func theProbeSeesAPlainString() {
        struct Careless { var password = RedactionTests.canary }
        #expect(!RedactionProbe.leaks(of: Careless(), secret: Self.canary).isEmpty)
    }
}

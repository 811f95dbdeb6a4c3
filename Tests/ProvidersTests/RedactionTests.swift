import Credentials
import SystemSupport
import TestSupport
import Testing

@testable import Providers

/// The long-lived cloud credentials providers read: AWS keys, a GCP service-account key, a gcloud user.
@Suite("provider credentials redact under print, dump and Mirror")
struct ProviderRedactionTests {
    static let canary = "provider-canary-c4e9"

    @Test func cloudCredentials() throws {
        let values: [(String, Any)] = [
            (
                "aws",
                AWSCredentials(
                    accessKeyID: "AKIDEXAMPLE", secretAccessKey: Secret(Self.canary), sessionToken: Secret(Self.canary))
            ),
            (
                "gcp key",
                try ServiceAccountKey(
                    ["client_email": .string("a@b.iam.gserviceaccount.com"), "private_key": .string(Self.canary)],
                    origin: "t")
            ),
            (
                "gcp user",
                try AuthorizedUser(
                    [
                        "client_id": .string("id"), "client_secret": .string(Self.canary),
                        "refresh_token": .string(Self.canary),
                    ],
                    origin: "t")
            ),
        ]
        for (name, value) in values {
            #expect(RedactionProbe.leaks(of: value, secret: Self.canary).isEmpty, "\(name)")
        }
    }
}

import Credentials
import TestSupport
import Testing

@testable import Registry

/// What a client presents to a registry and what its token server answers.
@Suite("registry values redact under print, dump and Mirror")
struct RegistryRedactionTests {
    static let canary = "registry-canary-0b17"

    @Test func credentialsAndTokenAnswers() throws {
        let answer = try TokenResponse.parse(
            Array(#"{"token":"\#(Self.canary)","refresh_token":"\#(Self.canary)","expires_in":60}"#.utf8))
        let values: [(String, Any)] = [
            ("basic", RegistryCredential.basic(username: "u", password: Secret(Self.canary))),
            ("identity token", RegistryCredential.identityToken(Secret(Self.canary))),
            ("token answer", answer),
        ]
        for (name, value) in values {
            #expect(RedactionProbe.leaks(of: value, secret: Self.canary).isEmpty, "\(name)")
        }
    }
}

import TestSupport
import Testing

@testable import Transport

/// Requests and responses carry tokens in headers, form bodies and token-server answers: printed and reflected,
/// they show none of them.
@Suite("HTTP values redact under print, dump and Mirror")
struct TransportRedactionTests {
    static let canary = "transport-canary-91c2"

    @Test func requestsAndResponses() {
        let request = HTTPRequest(
            method: "POST", url: "https://registry.example/token?access_token=\(Self.canary)",
            headers: [("Authorization", "Bearer \(Self.canary)"), ("X-Amz-Security-Token", Self.canary)],
            body: Array("client_secret=\(Self.canary)".utf8))
        let response = HTTPResponse(
            status: 200, headers: [("set-cookie", Self.canary)], body: Array(#"{"token":"\#(Self.canary)"}"#.utf8),
            url: "https://registry.example/token?sig=\(Self.canary)")
        #expect(RedactionProbe.leaks(of: request, secret: Self.canary).isEmpty)
        #expect(RedactionProbe.leaks(of: response, secret: Self.canary).isEmpty)
    }
}

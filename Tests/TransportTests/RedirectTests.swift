import Foundation
import TestSupport
import Testing
import Transport

extension TransportSuite {
    /// Redirects as a registry produces them (blob GET → 307 to a storage URL on another host), followed by
    /// `RedirectPolicy` and observed from the server that receives the last hop.
    @Suite("CurlHTTPClient redirects")
    struct RedirectTests {
        let client = CurlHTTPClient()

        @Test func redirectToTheSameOriginKeepsAuthorization() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            for location in ["/echo", "echo", fixture.url("/echo")] {
                let response = try await client.send(
                    HTTPRequest(
                        url: fixture.url("/redirect?code=307&to=" + location.queryEscaped),
                        headers: [("Authorization", "Bearer registry-token")]))
                #expect(response.status == 200)
                #expect(response.url == fixture.url("/echo"), "final URL after \(location)")
                #expect(try Echo(response).headers["authorization"] == "Bearer registry-token", "after \(location)")
            }
        }

        /// localhost and 127.0.0.1 reach the same loopback server but are different origins to a client; a different
        /// port is a different origin too.
        @Test(arguments: [TargetOrigin.otherHostSamePort, .sameHostOtherPort, .otherHostOtherPort])
        func redirectToAnotherOriginDropsCredentials(target: TargetOrigin) async throws {
            let registry = try await HTTPFixture.start()
            defer { registry.stop() }
            let storage = try await HTTPFixture.start()
            defer { storage.stop() }

            let destination: String
            switch target {
            case .otherHostSamePort: destination = registry.url("/echo", host: "localhost")
            case .sameHostOtherPort: destination = storage.url("/echo")
            case .otherHostOtherPort: destination = storage.url("/echo", host: "localhost")
            }
            let response = try await client.send(
                HTTPRequest(
                    url: registry.url("/redirect?code=307&to=" + destination.queryEscaped),
                    headers: [
                        ("Authorization", "Bearer registry-token"), ("X-Registry-Session", "s-1"),
                        ("Cookie", "session=c"), ("X-Request-Id", "r-1"),
                    ],
                    sensitiveHeaders: ["authorization", "X-Registry-Session"]))

            #expect(response.url == destination)
            let echo = try Echo(response)
            #expect(echo.headers["authorization"] == nil)
            #expect(echo.headers["x-registry-session"] == nil)
            #expect(echo.headers["cookie"] == nil)
            #expect(echo.headers["x-request-id"] == "r-1")
        }

        enum TargetOrigin: String, CustomTestStringConvertible, Sendable {
            case otherHostSamePort, sameHostOtherPort, otherHostOtherPort
            var testDescription: String { rawValue }
        }

        @Test(arguments: [
            (301, "GET", ""), (302, "GET", ""), (303, "GET", ""), (307, "POST", "payload"), (308, "POST", "payload"),
        ])
        func postAfterRedirect(code: Int, method: String, body: String) async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let response = try await client.send(
                HTTPRequest(
                    method: "POST", url: fixture.url("/redirect?code=\(code)&to=%2Fecho"),
                    headers: [("Content-Type", "text/plain")], body: Array("payload".utf8)))

            let echo = try Echo(response)
            #expect(echo.method == method)
            #expect(echo.body == body)
            #expect(echo.headers["content-type"] == (method == "POST" ? "text/plain" : nil))
        }

        @Test func redirectLoopFailsTooManyRedirects() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let result = await failure { try await client.send(HTTPRequest(url: fixture.url("/loop"))) }
            #expect(result.error == .tooManyRedirects(host: "127.0.0.1:\(fixture.port)"))
        }

        @Test func tenRedirectsAreFollowed() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            var url = fixture.url("/echo")
            for _ in 0..<10 { url = fixture.url("/redirect?to=" + url.queryEscaped) }
            let response = try await client.send(HTTPRequest(url: url))
            #expect(response.status == 200)
            #expect(response.url == fixture.url("/echo"))
        }

        @Test func redirectWithoutLocationIsReturnedAsIs() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let response = try await client.send(HTTPRequest(url: fixture.url("/status/302")))
            #expect(response.status == 302)
        }

        @Test func httpsToHTTPRedirectIsRefused() async throws {
            let certificates = try await TestCertificates.make()
            defer { certificates.remove() }
            let secure = try await HTTPFixture.startTLS(certificates)
            defer { secure.stop() }
            let plain = try await HTTPFixture.start()
            defer { plain.stop() }

            let result = await failure {
                try await client.send(
                    HTTPRequest(
                        url: secure.url("/redirect?to=" + plain.url("/echo?sig=abc").queryEscaped),
                        headers: [("Authorization", "Bearer registry-token")], caFile: certificates.caCertificate))
            }
            #expect(
                result.error
                    == .insecureRedirect(from: "https://127.0.0.1:\(secure.port)/redirect", to: plain.url("/echo")))
        }
    }
}

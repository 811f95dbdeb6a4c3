import Foundation
import TestSupport
import Testing
import Transport

extension TransportSuite {
    /// TLS against a server whose certificate a private test CA signed (no system store trusts it).
    @Suite("CurlHTTPClient TLS")
    struct TLSTests {
        @Test func untrustedCertificateFailsTLS() async throws {
            let certificates = try await TestCertificates.make()
            defer { certificates.remove() }
            let fixture = try await HTTPFixture.startTLS(certificates)
            defer { fixture.stop() }

            let result = await failure { try await CurlHTTPClient().send(HTTPRequest(url: fixture.url("/echo"))) }
            guard case .tls(let host, let reason) = result.error else {
                Issue.record("expected tls, got \(String(describing: result.error))")
                return
            }
            #expect(host == "127.0.0.1:\(fixture.port)")
            #expect(reason.contains("certificate"))
        }

        @Test func caFromOCICRED_CA_FILEIsTrusted() async throws {
            let certificates = try await TestCertificates.make()
            defer { certificates.remove() }
            let fixture = try await HTTPFixture.startTLS(certificates)
            defer { fixture.stop() }

            let client = CurlHTTPClient(
                configuration: .fromEnvironment(["OCICRED_CA_FILE": certificates.caCertificate]))
            for host in ["127.0.0.1", "localhost"] {
                let response = try await client.send(HTTPRequest(url: fixture.url("/echo", host: host)))
                #expect(response.status == 200, "as \(host)")
            }
        }

        @Test func perRequestCAFileIsTrustedAlongsideOCICRED_CA_FILE() async throws {
            let certificates = try await TestCertificates.make()
            defer { certificates.remove() }
            let other = try await TestCertificates.make()
            defer { other.remove() }
            let fixture = try await HTTPFixture.startTLS(certificates)
            defer { fixture.stop() }

            // Both bundles in play: the process-wide one (another CA) and the host's certs.d ca.crt (the right one).
            let client = CurlHTTPClient(configuration: .fromEnvironment(["OCICRED_CA_FILE": other.caCertificate]))
            let response = try await client.send(
                HTTPRequest(url: fixture.url("/echo"), caFile: certificates.caCertificate))
            #expect(response.status == 200)

            let wrongOnly = await failure { try await client.send(HTTPRequest(url: fixture.url("/echo"))) }
            guard case .tls = wrongOnly.error else {
                Issue.record("expected tls with only the other CA, got \(String(describing: wrongOnly.error))")
                return
            }
        }

        @Test func verifyTLSFalseAcceptsTheUntrustedCertificate() async throws {
            let certificates = try await TestCertificates.make()
            defer { certificates.remove() }
            let fixture = try await HTTPFixture.startTLS(certificates)
            defer { fixture.stop() }

            let response = try await CurlHTTPClient().send(HTTPRequest(url: fixture.url("/echo"), verifyTLS: false))
            #expect(response.status == 200)
            #expect(try Echo(response).method == "GET")
        }

        @Test func missingCAFileFailsTLSNamingNoSecret() async throws {
            let certificates = try await TestCertificates.make()
            defer { certificates.remove() }
            let fixture = try await HTTPFixture.startTLS(certificates)
            defer { fixture.stop() }

            let client = CurlHTTPClient(configuration: .fromEnvironment(["OCICRED_CA_FILE": "/nonexistent/ca.pem"]))
            let result = await failure { try await client.send(HTTPRequest(url: fixture.url("/echo"))) }
            guard case .tls = result.error else {
                Issue.record("expected tls, got \(String(describing: result.error))")
                return
            }
        }
    }
}

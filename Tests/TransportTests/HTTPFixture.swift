import Foundation
import TestSupport
import Testing
import Transport

/// `Tests/Fixtures/http_fixture.py` on 127.0.0.1 port 0 (see that file for its routes), plain or over TLS.
/// Call `stop()` in `defer`.
struct HTTPFixture {
    let server: FixtureServer
    let scheme: String

    static func start() async throws -> HTTPFixture {
        HTTPFixture(
            server: try await offCooperativePool { try FixtureServer(script: "http_fixture.py") }, scheme: "http")
    }

    static func startTLS(_ certificates: TestCertificates) async throws -> HTTPFixture {
        let arguments = ["--tls", certificates.serverCertificate, certificates.serverKey]
        return HTTPFixture(
            server: try await offCooperativePool { try FixtureServer(script: "http_fixture.py", arguments: arguments) },
            scheme: "https")
    }

    var port: Int { server.port }

    /// `path` on this fixture, addressed as `host` (`127.0.0.1` or `localhost`: both reach it, but they are two
    /// origins to a client).
    func url(_ path: String, host: String = "127.0.0.1") -> String { "\(scheme)://\(host):\(port)\(path)" }

    func stop() { server.stop() }
}

/// What `/echo` saw.
struct Echo {
    let method: String
    let headers: [String: String]
    let body: String

    init(_ response: HTTPResponse) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw EchoError.notJSON(response.bodyText)
        }
        method = object["method"] as? String ?? ""
        headers = object["headers"] as? [String: String] ?? [:]
        body = object["body"] as? String ?? ""
    }

    enum EchoError: Error { case notJSON(String) }
}

/// A private test CA and a server certificate it signed for IP 127.0.0.1 and DNS localhost, made with the
/// `openssl` CLI in a temporary directory; no system store trusts the CA. Call `remove()` in `defer`.
struct TestCertificates {
    let directory: TemporaryDirectory
    var caCertificate: String { directory.file("ca.crt") }
    var serverCertificate: String { directory.file("server.crt") }
    var serverKey: String { directory.file("server.key") }

    static func make() async throws -> TestCertificates {
        try await offCooperativePool { try TestCertificates() }
    }

    private init() throws {
        directory = try TemporaryDirectory(prefix: "ocicred-tls")
        let script = """
            set -e
            cd '\(directory.path)'
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
              -subj '/CN=ocicred test CA' -keyout ca.key -out ca.crt \
              -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign'
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
              -subj '/CN=127.0.0.1' -keyout server.key -out server.csr
            {
              echo 'subjectAltName=IP:127.0.0.1,DNS:localhost'
              echo 'basicConstraints=CA:FALSE'
              echo 'keyUsage=digitalSignature'
              echo 'extendedKeyUsage=serverAuth'
            } > server.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
              -extfile server.ext -out server.crt
            """
        let result = try ProcessRunner.shell(script, timeout: 60)
        guard result.status == 0 else {
            directory.remove()
            throw CertificateError.opensslFailed(String(decoding: result.stderr, as: UTF8.self))
        }
    }

    func remove() { directory.remove() }

    enum CertificateError: Error { case opensslFailed(String) }
}

/// Runs blocking set-up (a fixture waiting for its port line, the openssl CLI) on a thread of its own: on the
/// cooperative pool (two threads here) it would stall the continuations of other tests' requests, and their timing
/// assertions with them.
func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Runs `body` and returns the `HTTPError` it threw (nil when it succeeded) with the time it took.
func failure(of body: () async throws -> HTTPResponse) async -> (error: HTTPError?, seconds: Double) {
    let start = ContinuousClock.now
    var caught: HTTPError?
    do {
        _ = try await body()
    } catch let error as HTTPError {
        caught = error
    } catch {
        Issue.record("not an HTTPError: \(error)")
    }
    let elapsed = ContinuousClock.now - start
    return (caught, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

extension String {
    /// For a URL inside a query parameter.
    var queryEscaped: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? self
    }
}

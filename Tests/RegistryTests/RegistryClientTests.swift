import Credentials
import Foundation
import Logging
import Registry
import Synchronization
import TestSupport
import Testing
import Transport

/// A scripted HTTP peer: answers from a closure and records every request, so the flows are checked exactly
/// (which host got which Authorization) without a network.
final class ScriptedHTTP: HTTPClient {
    typealias Handler = @Sendable (HTTPRequest) throws(HTTPError) -> HTTPResponse
    let handler: Handler
    private let recorded = Mutex<[HTTPRequest]>([])

    init(_ handler: @escaping Handler) { self.handler = handler }

    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        recorded.withLock { $0.append(request) }
        return try handler(request)
    }

    var requests: [HTTPRequest] { recorded.withLock { $0 } }

    static func response(_ status: Int, _ headers: [(String, String)] = [], body: String = "", url: String = "")
        -> HTTPResponse
    {
        HTTPResponse(
            status: status, headers: headers.map { (name: $0.0.lowercased(), value: $0.1) },
            body: Array(body.utf8), url: url)
    }
}

extension HTTPRequest {
    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    var host: String { URL(string: url)?.host ?? "" }
    var path: String { URL(string: url)?.path ?? "" }
    var query: [String: [String]] {
        var result: [String: [String]] = [:]
        for item in URLComponents(string: url)?.queryItems ?? [] {
            result[item.name, default: []].append(item.value ?? "")
        }
        return result
    }
}

/// Counts credential requests and whether they asked for fresh ones.
final class CredentialLog: Sendable {
    let asks = Mutex<[Bool]>([])
    let credential: RegistryCredential?
    init(_ credential: RegistryCredential?) { self.credential = credential }
    var source: RegistryCredentialSource {
        { refresh async throws(RegistryError) -> RegistryCredential? in
            self.asks.withLock { $0.append(refresh) }
            return self.credential
        }
    }
}

final class Counter: Sendable {
    let value = Mutex(0)
    func next() -> Int {
        value.withLock {
            $0 += 1; return $0
        }
    }
    var count: Int { value.withLock { $0 } }
}

final class TestClock: Sendable {
    let current = Mutex(Date(timeIntervalSince1970: 1_700_000_000))
    var now: @Sendable () -> Date { { self.current.withLock { $0 } } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

struct RegistryClientTests {
    static let bearer = #"Bearer realm="https://auth.example/token",service="registry.example""#
    let alice = RegistryCredential.basic(username: "alice", password: Secret("pw:1"))

    func client(
        _ http: ScriptedHTTP, host: String = "registry.example", _ credentials: CredentialLog,
        clock: TestClock = TestClock(), insecure: Bool = false
    ) -> RegistryClient {
        RegistryClient(
            endpoint: RegistryEndpoint(host: host, verifyTLS: !insecure, insecure: insecure), http: http,
            credentials: credentials.source, now: clock.now)
    }

    /// A token server plus a registry that wants `Bearer` and accepts any token the server issued.
    static func tokenRegistry(expiresIn: Int = 300, issued: Counter = Counter()) -> ScriptedHTTP {
        ScriptedHTTP { request throws(HTTPError) in
            if request.host == "auth.example" {
                let number = issued.next()
                return ScriptedHTTP.response(200, body: #"{"token":"tok-\#(number)","expires_in":\#(expiresIn)}"#)
            }
            guard let authorization = request.header("Authorization"), authorization.hasPrefix("Bearer tok-") else {
                return ScriptedHTTP.response(401, [("WWW-Authenticate", bearer)])
            }
            return ScriptedHTTP.response(200, body: "{}")
        }
    }

    @Test func basicCredentialsGoOnlyToTheRegistry() async throws {
        let http = ScriptedHTTP { request throws(HTTPError) in
            let expected = "Basic " + Data("alice:pw:1".utf8).base64EncodedString()
            if request.header("Authorization") == expected { return ScriptedHTTP.response(200) }
            return ScriptedHTTP.response(401, [("WWW-Authenticate", #"Basic realm="r""#)])
        }
        let credentials = CredentialLog(alice)
        let report = try await client(http, credentials).verify(repository: nil, push: false)
        #expect(report.scheme == "basic")
        #expect(report.username == "alice")
        #expect(http.requests.allSatisfy { $0.host == "registry.example" && $0.url.hasPrefix("https://") })
        #expect(http.requests.first?.header("Authorization") == nil, "the ping goes out without credentials")
        #expect(credentials.asks.withLock { $0 } == [false], "the resolver is asked once per command")
    }

    @Test func bearerTokensAreRequestedWithBasicCredentialsAndCachedPerScope() async throws {
        let issued = Counter()
        let http = Self.tokenRegistry(issued: issued)
        let registry = client(http, CredentialLog(alice))
        let pull = [RegistryScope.repository("team/app", actions: ["pull"])]
        _ = try await registry.send("GET", "/v2/team/app/tags/list", scopes: pull)
        _ = try await registry.send("GET", "/v2/team/app/manifests/1", scopes: pull)
        #expect(issued.count == 1, "the second request reused the cached token")
        _ = try await registry.send("GET", "/v2/other/tags/list", scopes: [.repository("other", actions: ["pull"])])
        #expect(issued.count == 2, "another scope needs another token")

        let tokenRequest = try #require(http.requests.first { $0.host == "auth.example" })
        #expect(tokenRequest.method == "GET")
        #expect(tokenRequest.query["service"] == ["registry.example"])
        #expect(tokenRequest.query["scope"] == ["repository:team/app:pull"])
        #expect(tokenRequest.query["account"] == ["alice"])
        #expect(tokenRequest.header("Authorization") == "Basic " + Data("alice:pw:1".utf8).base64EncodedString())
        #expect(tokenRequest.url.contains("scope=repository%3Ateam%2Fapp%3Apull"), "\(tokenRequest.url)")
        for request in http.requests where request.host == "registry.example" {
            #expect(request.header("Authorization")?.hasPrefix("Basic") != true, "the password reached the registry")
        }
    }

    @Test func anExpiredTokenIsReplaced() async throws {
        let issued = Counter()
        let clock = TestClock()
        let registry = client(Self.tokenRegistry(expiresIn: 30, issued: issued), CredentialLog(alice), clock: clock)
        let scopes = [RegistryScope.repository("a", actions: ["pull"])]
        _ = try await registry.send("GET", "/v2/a/tags/list", scopes: scopes)
        clock.advance(20)
        _ = try await registry.send("GET", "/v2/a/tags/list", scopes: scopes)
        #expect(issued.count == 1, "still fresh after 20 of 30 s")
        clock.advance(8)  // 28 s: within the refresh margin (a tenth of the lifetime)
        _ = try await registry.send("GET", "/v2/a/tags/list", scopes: scopes)
        #expect(issued.count == 2)
    }

    @Test func anIdentityTokenIsPostedAsARefreshGrant() async throws {
        let http = ScriptedHTTP { request throws(HTTPError) in
            if request.host == "auth.example" {
                return ScriptedHTTP.response(200, body: #"{"access_token":"from-refresh","expires_in":60}"#)
            }
            if request.header("Authorization") == "Bearer from-refresh" { return ScriptedHTTP.response(200) }
            return ScriptedHTTP.response(401, [("WWW-Authenticate", Self.bearer)])
        }
        let registry = client(http, CredentialLog(.identityToken(Secret("refresh-123"))))
        let report = try await registry.verify(repository: "team/app", push: false)
        #expect(report.identityToken)
        let post = try #require(http.requests.first { $0.host == "auth.example" })
        #expect(post.method == "POST")
        #expect(post.header("Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true)
        let form = String(decoding: post.body, as: UTF8.self)
        #expect(form.contains("grant_type=refresh_token"))
        #expect(form.contains("refresh_token=refresh-123"))
        #expect(form.contains("service=registry.example"))
        #expect(form.contains("client_id=ocicred"))
        #expect(post.header("Authorization") == nil)
    }

    @Test func a401IsRetriedOnceWithFreshCredentials() async throws {
        let attempts = Counter()
        let http = ScriptedHTTP { request throws(HTTPError) in
            if request.header("Authorization") != nil { _ = attempts.next() }
            return ScriptedHTTP.response(
                401, [("WWW-Authenticate", #"Basic realm="r""#)],
                body: #"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#)
        }
        let credentials = CredentialLog(alice)
        await #expect(
            throws: RegistryError.credentialsRejected(
                host: "registry.example", detail: "UNAUTHORIZED: authentication required")
        ) {
            try await client(http, credentials).verify(repository: nil, push: false)
        }
        #expect(attempts.count == 2)
        #expect(credentials.asks.withLock { $0 } == [false, true])
    }

    /// ECR answers an expired token with 403, and an expired presigned S3 redirect is a 403 too: both are retried
    /// once with fresh credentials; a plain 403 (no pull rights) is not.
    @Test(arguments: [
        (
            #"{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]}"#,
            true
        ),
        ("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", true),
        (#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#, false),
    ])
    func a403ForAnExpiredTokenIsRetriedWithFreshCredentials(body: String, retried: Bool) async throws {
        let attempts = Counter()
        let http = ScriptedHTTP { request throws(HTTPError) in
            guard request.header("Authorization") != nil else {
                return ScriptedHTTP.response(401, [("WWW-Authenticate", #"Basic realm="r""#)])
            }
            if request.path == "/v2/" { return ScriptedHTTP.response(200) }
            return attempts.next() == 1
                ? ScriptedHTTP.response(403, body: body) : ScriptedHTTP.response(200, body: "ok")
        }
        let credentials = CredentialLog(alice)
        let response = try await client(http, credentials).send(
            "GET", "/v2/team/app/blobs/sha256:abc", scopes: [.repository("team/app", actions: ["pull"])])
        #expect(response.status == (retried ? 200 : 403))
        #expect(attempts.count == (retried ? 2 : 1))
        #expect(credentials.asks.withLock { $0 }.last == retried)
    }

    @Test func aTokenServerRefusalIsRejectedCredentials() async throws {
        let http = ScriptedHTTP { request throws(HTTPError) in
            if request.host == "auth.example" {
                return ScriptedHTTP.response(401, body: #"{"details":"incorrect username or password"}"#)
            }
            return ScriptedHTTP.response(401, [("WWW-Authenticate", Self.bearer)])
        }
        let credentials = CredentialLog(alice)
        do throws(RegistryError) {
            _ = try await client(http, credentials).verify(repository: nil, push: false)
            Issue.record("expected a rejection")
        } catch {
            #expect(error == .credentialsRejected(host: "registry.example", detail: "incorrect username or password"))
            #expect(error.kind == .rejected)
            #expect(!error.description.contains("pw:1"))
        }
        #expect(credentials.asks.withLock { $0 } == [false, true], "fresh credentials were asked for once")
    }

    @Test func plainHTTPIsTriedOnlyForLoopbackAndInsecureRegistries() async throws {
        let http = ScriptedHTTP { request throws(HTTPError) in
            if request.url.hasPrefix("https://") {
                throw .tls(host: request.host, reason: "wrong version number")
            }
            return ScriptedHTTP.response(200)
        }
        let loopback = try await client(http, host: "127.0.0.1:5000", CredentialLog(alice)).ping()
        #expect(loopback.baseURL == "http://127.0.0.1:5000")
        let insecure = try await client(http, host: "lab.internal:5000", CredentialLog(alice), insecure: true).ping()
        #expect(insecure.baseURL == "http://lab.internal:5000")

        let before = http.requests.count
        await #expect(throws: RegistryError.tls(host: "registry.example", reason: "wrong version number")) {
            try await client(http, CredentialLog(alice)).ping()
        }
        #expect(http.requests.count == before + 1, "a remote registry was tried over plain HTTP")
    }

    @Test func theHTTPSErrorIsReportedWhenPlainHTTPDoesNotAnswerLikeARegistry() async throws {
        let http = ScriptedHTTP { request throws(HTTPError) in
            if request.url.hasPrefix("https://") {
                throw .tls(host: "127.0.0.1:5000", reason: "self-signed certificate")
            }
            return ScriptedHTTP.response(400, body: "Client sent an HTTP request to an HTTPS server.")
        }
        do throws(RegistryError) {
            _ = try await client(http, host: "127.0.0.1:5000", CredentialLog(alice)).verify(
                repository: nil, push: false)
            Issue.record("expected a TLS failure")
        } catch {
            #expect(error.kind == .tls)
            #expect(error.description.contains("--tls-verify=false"))
        }
    }

    @Test func credentialsAreNotSentToAPlainHTTPRealmOnARemoteHost() async throws {
        let http = ScriptedHTTP { request throws(HTTPError) in
            ScriptedHTTP.response(401, [("WWW-Authenticate", #"Bearer realm="http://auth.example/token",service="s""#)])
        }
        do throws(RegistryError) {
            _ = try await client(http, CredentialLog(alice)).verify(repository: nil, push: false)
            Issue.record("expected a refusal")
        } catch {
            guard case .unsafeRealm = error else {
                Issue.record("expected unsafeRealm, got \(error)")
                return
            }
        }
        #expect(!http.requests.contains { $0.host == "auth.example" })
    }

    @Test func pushIsJudgedFromTheTokensAccessClaim() async throws {
        func jwt(_ actions: [String]) -> String {
            let claims =
                #"{"access":[{"type":"repository","name":"team/app","actions":["#
                + actions.map { "\"\($0)\"" }.joined(separator: ",") + "]}]}"
            let payload = Data(claims.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            return "eyJhbGciOiJSUzI1NiJ9.\(payload).c2ln"
        }
        for (actions, allowed) in [(["pull", "push"], true), (["pull"], false)] {
            let token = jwt(actions)
            let http = ScriptedHTTP { request throws(HTTPError) in
                if request.host == "auth.example" { return ScriptedHTTP.response(200, body: #"{"token":"\#(token)"}"#) }
                if request.header("Authorization") == "Bearer " + token {
                    return ScriptedHTTP.response(request.url.hasSuffix("/v2/") ? 200 : 404)
                }
                return ScriptedHTTP.response(401, [("WWW-Authenticate", Self.bearer)])
            }
            let registry = client(http, CredentialLog(alice))
            do throws(RegistryError) {
                let report = try await registry.verify(repository: "team/app", push: true)
                #expect(allowed, "push passed with \(actions)")
                #expect(report.checks.last == "push on team/app")
            } catch {
                #expect(!allowed, "push failed with \(actions): \(error)")
                #expect(error.kind == .rejected)
                #expect(error.description.contains("granted pull"))
            }
            #expect(!http.requests.contains { $0.method == "POST" }, "no upload is needed when the token tells")
        }
    }

    @Test func pushWithBasicAuthStartsAndCancelsAnUpload() async throws {
        let http = ScriptedHTTP { request throws(HTTPError) in
            guard request.header("Authorization") != nil else {
                return ScriptedHTTP.response(401, [("WWW-Authenticate", #"Basic realm="r""#)])
            }
            if request.method == "POST" {
                return ScriptedHTTP.response(
                    202, [("Location", "https://registry.example/v2/team/app/blobs/uploads/u-1?_state=x")])
            }
            return ScriptedHTTP.response(request.method == "DELETE" ? 204 : 200)
        }
        let report = try await client(http, CredentialLog(alice)).verify(repository: "team/app", push: true)
        #expect(report.checks == ["authenticated (basic)", "pull on team/app", "push on team/app"])
        let delete = try #require(http.requests.first { $0.method == "DELETE" })
        #expect(delete.url == "https://registry.example/v2/team/app/blobs/uploads/u-1?_state=x")
        #expect(delete.header("Authorization") != nil)
    }

    @Test func anUploadLocationOnAnotherHostGetsNoCredentials() async throws {
        let http = ScriptedHTTP { request throws(HTTPError) in
            guard request.header("Authorization") != nil else {
                return ScriptedHTTP.response(401, [("WWW-Authenticate", #"Basic realm="r""#)])
            }
            if request.method == "POST" {
                return ScriptedHTTP.response(202, [("Location", "https://elsewhere.example/upload/u-1")])
            }
            return ScriptedHTTP.response(200)
        }
        _ = try await client(http, CredentialLog(alice)).verify(repository: "team/app", push: true)
        #expect(!http.requests.contains { $0.host == "elsewhere.example" })
    }

    @Test func pushDeniedByTheRegistryIsRejected() async throws {
        let http = ScriptedHTTP { request throws(HTTPError) in
            guard request.header("Authorization") != nil else {
                return ScriptedHTTP.response(401, [("WWW-Authenticate", #"Basic realm="r""#)])
            }
            if request.method == "POST" {
                return ScriptedHTTP.response(403, body: #"{"errors":[{"code":"DENIED","message":"read-only"}]}"#)
            }
            return ScriptedHTTP.response(200)
        }
        await #expect(
            throws: RegistryError.denied(
                host: "registry.example", repository: "team/app", action: "push", detail: "DENIED: read-only")
        ) {
            try await client(http, CredentialLog(alice)).verify(repository: "team/app", push: true)
        }
    }

    @Test(arguments: [
        (HTTPError.unreachable(host: "h", reason: "refused"), FailureKind.unreachable),
        (.timedOut(host: "h", seconds: 10), .unreachable), (.tls(host: "h", reason: "x"), .tls),
        (.tooLarge(host: "h", limit: 1), .other), (.invalidURL("u"), .other),
    ])
    func transportFailuresMapToExitClasses(_ error: HTTPError, _ kind: FailureKind) {
        #expect(RegistryError(error).kind == kind)
    }

    @Test func exitClassesAreDistinct() {
        #expect(RegistryError.noCredentials(host: "h").kind.rawValue == 2)
        #expect(RegistryError.credentialsRejected(host: "h", detail: "").kind.rawValue == 3)
        #expect(RegistryError.denied(host: "h", repository: "r", action: "push", detail: "").kind.rawValue == 3)
        #expect(RegistryError.unreachable(host: "h", reason: "").kind.rawValue == 4)
        #expect(RegistryError.tls(host: "h", reason: "").kind.rawValue == 5)
        #expect(RegistryError.notARegistry(host: "h", status: 404).kind.rawValue == 1)
        #expect(Set(FailureKind.allCases.map(\.rawValue)).count == FailureKind.allCases.count)
    }

    @Test func loginStoresOnlyAcceptedPasswords() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = EncryptedStore(directory: directory.file("store"), keyFile: directory.file("key"))
        let key = try CredentialKey(serverURL: "registry.example")
        let http = ScriptedHTTP { request throws(HTTPError) in
            if request.header("Authorization") == "Basic " + Data("alice:right".utf8).base64EncodedString() {
                return ScriptedHTTP.response(200)
            }
            return ScriptedHTTP.response(401, [("WWW-Authenticate", #"Basic realm="r""#)])
        }
        let endpoint = RegistryEndpoint(host: "registry.example")
        let logger = Logger(label: "test")
        await #expect(throws: RegistryError.self) {
            try await RegistryLogin.login(
                key: key, username: "alice", password: Secret("wrong"), endpoint: endpoint,
                http: http, store: store, logger: logger)
        }
        #expect(try store.material(for: key) == nil, "a rejected password was stored")
        _ = try await RegistryLogin.login(
            key: key, username: "alice", password: Secret("right"), endpoint: endpoint,
            http: http, store: store, logger: logger)
        let stored = try #require(try store.material(for: key)?.material.staticCredential())
        #expect(stored.username == "alice" && stored.secret.exposedValue == "right")
    }

    @Test func theResolverSourceReportsNotFoundAsNoCredentials() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let resolver = Resolver(
            store: EncryptedStore(directory: directory.file("store"), keyFile: directory.file("key")), authFiles: [],
            logger: Logger(label: "test"))
        let key = try CredentialKey(serverURL: "nobody.example")
        let source = RegistryLogin.credentialSource(resolver: resolver, key: key)
        await #expect(throws: RegistryError.noCredentials(host: "nobody.example")) { try await source(false) }
    }

    @Test func repositoryNamesAreChecked() async throws {
        let http = ScriptedHTTP { _ throws(HTTPError) in ScriptedHTTP.response(200) }
        for bad in ["Team/App", "team//app", "/team", "team/", "te am", "a/../b"] {
            await #expect(throws: RegistryError.self, "\(bad)") {
                try await client(http, CredentialLog(alice)).verify(repository: bad, push: false)
            }
        }
        await #expect(throws: RegistryError.self) {
            try await client(http, CredentialLog(alice)).verify(repository: nil, push: true)
        }
    }
}

import Credentials
import Foundation
import SystemSupport
import TestSupport
import Testing
import Transport

@testable import Providers

#if canImport(Glibc)
    import Glibc
#endif

/// The provider against `Tests/Fixtures/aws_fixtures.py`: strict stand-ins for IMDSv2, the container endpoint,
/// STS web identity and an ECR that verifies SigV4 — the parts moto_server does not cover.
extension AWSIntegrationTests {
    @Suite struct AWSProviderFixtureTests {
        static let keyID = "AKIAFIXTURE000000001"
        static let secret = "fixture/secret+key0123456789abcdefghijklm"

        /// Starts the fixture off Swift's cooperative pool: FixtureServer's init blocks until Python prints its port,
        /// and blocked pool threads (two on a 2-core runner) would delay every other test's async work — including the
        /// timing of `noSourceFailsFastAndListsWhatWasTried`.
        /// The ECR fixture with its default keys and an empty HOME, both stopped and removed after `body`.
        private func withFixture(_ body: (FixtureServer, TemporaryDirectory) async throws -> Void) async throws {
            let fixture = try await startFixture()
            defer { fixture.stop() }
            let home = try TemporaryDirectory()
            defer { home.remove() }
            try await body(fixture, home)
        }

        private func startFixture(_ arguments: [String] = [], environment: [String: String] = [:]) async throws
            -> FixtureServer
        {
            var env = [
                "AWS_FIXTURE_ACCESS_KEY_ID": Self.keyID, "AWS_FIXTURE_SECRET_ACCESS_KEY": Self.secret,
                "AWS_FIXTURE_WEB_IDENTITY_ISSUER": AWSTestEnvironment.webIdentityIssuer,
            ]
            for (key, value) in environment { env[key] = value }
            let fixtureEnvironment = env
            return try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(
                        with: Result {
                            try FixtureServer(
                                script: "aws_fixtures.py", arguments: arguments, environment: fixtureEnvironment)
                        })
                }
            }
        }

        private func request(
            _ env: OcicredEnvironment, host: String = AWSTestEnvironment.privateHost,
            kind: HostKind = AWSTestEnvironment.privateKind, material: CredentialMaterial? = nil,
            identity: ProviderIdentity = .init()
        ) -> MintRequest {
            MintRequest(host: host, kind: kind, material: material, identity: identity, environment: env)
        }

        @Test func environmentKeysMintAnECRTokenWithTheFixturesLifetime() async throws {
            let fixture = try await startFixture(["--lifetime", "600", "--region", "us-east-1"])
            defer { fixture.stop() }
            let home = try TemporaryDirectory()
            defer { home.remove() }
            let env = AWSTestEnvironment.keys(
                home: home.path, id: Self.keyID, secret: Self.secret, endpoint: fixture.baseURL)
            let provider = AWSProvider(httpClient: CurlHTTPClient())
            let before = Date()
            let token = try await provider.mint(request(env))
            #expect(token.username == "AWS")
            #expect(token.secret.exposedValue == "ecr-password-1")
            #expect(abs(token.expiresAt.timeIntervalSince(before) - 600) < 30)
            #expect(try fixture.counter("mint") == 1)
            #expect(provider.cacheIdentity(for: request(env)) == "key:\(Self.keyID)")
        }

        @Test func wrongSecretIsRejectedWithECRsCodeNotReportedAsMissing() async throws {
            try await withFixture { (fixture, home) async throws in
                let env = AWSTestEnvironment.keys(
                    home: home.path, id: Self.keyID, secret: "wrong", endpoint: fixture.baseURL)
                let error = await #expect(throws: ProviderError.self) {
                    try await AWSProvider(httpClient: CurlHTTPClient()).mint(request(env))
                }
                guard case .rejected(let provider, let endpoint, let code, _) = error else {
                    Issue.record("expected .rejected, got \(String(describing: error))")
                    return
                }
                #expect(provider == "aws" && endpoint == fixture.baseURL && code == "InvalidSignatureException")
                #expect(try fixture.counter("mint") == 0)
            }
        }

        @Test func storedMaterialAndRuleProfileWinOverAmbientKeys() async throws {
            try await withFixture { (fixture, home) async throws in
                try AWSTestEnvironment.write(
                    "[good]\naws_access_key_id = \(Self.keyID)\naws_secret_access_key = \(Self.secret)\n",
                    to: home.file(".aws/credentials"))
                // Ambient keys that the fixture does not know: if they were used, ECR would refuse.
                let env = AWSTestEnvironment.keys(
                    home: home.path, id: "AKIAAMBIENT000000000", secret: "ambient", endpoint: fixture.baseURL)
                let provider = AWSProvider(httpClient: CurlHTTPClient())
                let material = CredentialMaterial(
                    registry: AWSTestEnvironment.privateHost, type: .aws,
                    credentials: [
                        "AWS_ACCESS_KEY_ID": .string(Self.keyID), "AWS_SECRET_ACCESS_KEY": .string(Self.secret),
                    ])
                _ = try await provider.mint(request(env, material: material))
                _ = try await provider.mint(request(env, identity: ProviderIdentity(awsProfile: "good")))
                #expect(try fixture.counter("mint") == 2)
                #expect(provider.cacheIdentity(for: request(env, material: material)) == "key:\(Self.keyID)")
                #expect(
                    provider.cacheIdentity(for: request(env, identity: .init(awsProfile: "good"))) == "profile:good")
                #expect(provider.cacheIdentity(for: request(env)) == "key:AKIAAMBIENT000000000")
            }
        }

        @Test func ecrPublicSignsAsEcrPublicInUsEast1() async throws {
            try await withFixture { (fixture, home) async throws in
                let env = AWSTestEnvironment.keys(
                    home: home.path, id: Self.keyID, secret: Self.secret, endpoint: fixture.baseURL,
                    variable: "AWS_ENDPOINT_URL_ECR_PUBLIC")
                let recorder = RecordingHTTPClient()
                let token = try await AWSProvider(httpClient: recorder).mint(
                    request(env, host: "public.ecr.aws", kind: .ecrPublic))
                #expect(token.username == "AWS")
                #expect(recorder.requests.map(\.operation) == ["SpencerFrontendService.GetAuthorizationToken"])
            }
        }

        @Test func instanceMetadataV2CredentialsSignTheECRCall() async throws {
            try await withFixture { (fixture, home) async throws in
                var values = AWSTestEnvironment.empty(home: home.path).values
                values["AWS_EC2_METADATA_DISABLED"] = nil
                values["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = fixture.baseURL
                values["AWS_ENDPOINT_URL"] = fixture.baseURL
                let env = OcicredEnvironment(values)
                let recorder = RecordingHTTPClient()
                let provider = AWSProvider(httpClient: recorder)
                #expect(provider.cacheIdentity(for: request(env)) == "imds")
                _ = try await provider.mint(request(env))
                let requests = recorder.requests
                #expect(requests.map(\.method) == ["PUT", "GET", "GET", "POST"])
                #expect(requests.last?.signedBy?.hasPrefix("ASIA") == true)
                #expect(try fixture.counter("imds-token") == 1)
                #expect(try fixture.counter("mint") == 1)
            }
        }

        /// The fixture is as strict as IMDS: no token, no metadata; no TTL header, no token.
        @Test func instanceMetadataFixtureRejectsIMDSv1() async throws {
            let fixture = try await startFixture()
            defer { fixture.stop() }
            let client = CurlHTTPClient()
            let v1 = try await client.send(
                HTTPRequest(url: fixture.baseURL + "/latest/meta-data/iam/security-credentials/"))
            #expect(v1.status == 401)
            let noTTL = try await client.send(HTTPRequest(method: "PUT", url: fixture.baseURL + "/latest/api/token"))
            #expect(noTTL.status == 400)
        }

        @Test func instanceWithoutRoleIsNoSource() async throws {
            let fixture = try await startFixture(["--role", ""])
            defer { fixture.stop() }
            let home = try TemporaryDirectory()
            defer { home.remove() }
            var values = AWSTestEnvironment.empty(home: home.path).values
            values["AWS_EC2_METADATA_DISABLED"] = nil
            values["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = fixture.baseURL
            let error = await #expect(throws: ProviderError.self) {
                try await AWSProvider(httpClient: CurlHTTPClient()).mint(request(OcicredEnvironment(values)))
            }
            guard case .noSource(_, _, let tried) = error else {
                Issue.record("expected .noSource, got \(String(describing: error))")
                return
            }
            #expect(tried.last?.contains("no IAM role") == true)
        }

        @Test func containerCredentialsSendTheTokenFromItsFile() async throws {
            let fixture = try await startFixture(environment: ["AWS_FIXTURE_CONTAINER_TOKEN": "pod-identity-token"])
            defer { fixture.stop() }
            let home = try TemporaryDirectory()
            defer { home.remove() }
            try AWSTestEnvironment.write("pod-identity-token\n", to: home.file("token"))
            try AWSTestEnvironment.write("not-the-token\n", to: home.file("wrong"))
            let base = [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": fixture.baseURL + "/v2/credentials/fixture",
                "AWS_ENDPOINT_URL": fixture.baseURL,
            ]
            let provider = AWSProvider(httpClient: CurlHTTPClient())
            let good = AWSTestEnvironment.empty(
                home: home.path, base.merging(["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": home.file("token")]) { $1 })
            #expect(provider.cacheIdentity(for: request(good)) == "container")
            _ = try await provider.mint(request(good))
            #expect(try fixture.counter("mint") == 1)

            let wrong = AWSTestEnvironment.empty(
                home: home.path, base.merging(["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": home.file("wrong")]) { $1 })
            let error = await #expect(throws: ProviderError.self) { try await provider.mint(request(wrong)) }
            guard case .rejected(_, _, let code, _) = error else {
                Issue.record("expected .rejected, got \(String(describing: error))")
                return
            }
            #expect(code == "AccessDenied")
        }

        @Test func containerFullURIOverPlainHTTPMustBeLocal() async throws {
            let home = try TemporaryDirectory()
            defer { home.remove() }
            let env = AWSTestEnvironment.empty(
                home: home.path, ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://credentials.example.com/creds"])
            await #expect(throws: ProviderError.self) {
                try await AWSProvider(httpClient: CurlHTTPClient()).mint(request(env))
            }
        }

        @Test func expiredWebIdentityTokenIsExpiredIdentityWithSTSsMessage() async throws {
            try await withFixture { (fixture, home) async throws in
                try AWSTestEnvironment.write(
                    AWSTestEnvironment.webIdentityToken(expiresIn: -3600), to: home.file("token"))
                let env = AWSTestEnvironment.empty(
                    home: home.path,
                    [
                        "AWS_WEB_IDENTITY_TOKEN_FILE": home.file("token"),
                        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ci",
                        "AWS_ENDPOINT_URL": fixture.baseURL,
                    ])
                let provider = AWSProvider(httpClient: CurlHTTPClient())
                #expect(provider.cacheIdentity(for: request(env)) == "webidentity:arn:aws:iam::123456789012:role/ci")
                let error = await #expect(throws: ProviderError.self) { try await provider.mint(request(env)) }
                guard case .expiredIdentity(let name, let detail) = error else {
                    Issue.record("expected .expiredIdentity, got \(String(describing: error))")
                    return
                }
                #expect(name == "aws" && detail.hasPrefix("Token expired: current date/time"))

                // A fresh token from the same file works (the file is re-read on every mint).
                try AWSTestEnvironment.write(
                    AWSTestEnvironment.webIdentityToken(expiresIn: 3600), to: home.file("token"))
                _ = try await provider.mint(request(env))
                #expect(try fixture.counter("sts-web-identity") == 1)
                #expect(try fixture.counter("mint") == 1)
            }
        }

        @Test func credentialProcessOutputSignsTheECRCall() async throws {
            try await withFixture { (fixture, home) async throws in
                // The secret reaches the process through a 0600 file it reads, never through its arguments.
                try AWSTestEnvironment.write(
                    #"{"Version": 1, "AccessKeyId": "\#(Self.keyID)", "SecretAccessKey": "\#(Self.secret)"}"#,
                    to: home.file("creds.json"))
                try AWSTestEnvironment.write(
                    "[profile tool]\ncredential_process = /bin/sh -c 'echo from-the-tool >&2; cat \"$0\"' \(home.file("creds.json"))\n",
                    to: home.file(".aws/config"))
                let env = AWSTestEnvironment.empty(
                    home: home.path, ["AWS_PROFILE": "tool", "AWS_ENDPOINT_URL": fixture.baseURL])
                _ = try await AWSProvider(httpClient: CurlHTTPClient()).mint(request(env))
                #expect(try fixture.counter("mint") == 1)

                try AWSTestEnvironment.write(
                    "[profile tool]\ncredential_process = /bin/false\n", to: home.file(".aws/config"))
                await #expect(throws: ProviderError.self) {
                    try await AWSProvider(httpClient: CurlHTTPClient()).mint(request(env))
                }
            }
        }

        /// ecr-login #137: with no source at all, its chain waits on IMDS for minutes. Ours names what it tried and
        /// gives up within the one-second IMDS budget — here against a closed port and against one that accepts
        /// connections but never answers.
        @Test func noSourceFailsFastAndListsWhatWasTried() async throws {
            let home = try TemporaryDirectory()
            defer { home.remove() }
            let closedPort = try FreePort.pick()
            let silent = try SilentListener()
            defer { withExtendedLifetime(silent) {} }
            // Load libcurl first (the first request dlopen()s it); the bound is on finding nothing, not on loading.
            _ = try? await CurlHTTPClient().send(
                HTTPRequest(url: "http://127.0.0.1:\(closedPort)/", timeout: .seconds(1), connectTimeout: .seconds(1)))
            for endpoint in ["http://127.0.0.1:\(closedPort)", "http://127.0.0.1:\(silent.port)"] {
                var values = AWSTestEnvironment.empty(home: home.path).values
                values["AWS_EC2_METADATA_DISABLED"] = nil
                values["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = endpoint
                let clock = ContinuousClock()
                let start = clock.now
                let error = await #expect(throws: ProviderError.self) {
                    try await AWSProvider(httpClient: CurlHTTPClient()).mint(request(OcicredEnvironment(values)))
                }
                let elapsed = clock.now - start
                // The probe's budget is 1 s (InstanceMetadata.probeTimeout); what must never happen is ecr-login's
                // minutes-long wait, so the bound leaves a loaded machine ample room and still catches that.
                #expect(elapsed < .seconds(10), "no-source took \(elapsed) with IMDS at \(endpoint)")
                guard case .noSource(let provider, let host, let tried) = error else {
                    Issue.record("expected .noSource, got \(String(describing: error))")
                    continue
                }
                #expect(provider == "aws" && host == AWSTestEnvironment.privateHost)
                #expect(tried.count == 5, "\(tried)")
                #expect(tried.first?.contains("AWS_ACCESS_KEY_ID") == true)
                #expect(tried.contains { $0.contains("AWS_WEB_IDENTITY_TOKEN_FILE") })
                #expect(tried.contains { $0.contains(home.path + "/.aws/credentials") })
                #expect(tried.contains { $0.contains("AWS_CONTAINER_CREDENTIALS") })
                #expect(tried.last?.contains(endpoint) == true)
            }
        }
    }
}

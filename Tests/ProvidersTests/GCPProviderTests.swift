import Credentials
import Foundation
import SystemSupport
import TestSupport
import Testing
import Transport

@testable import Providers

extension CloudProviderTests {
    /// The GCP provider against `gcp_fixtures.py`, which checks requests as Google does: assertion signatures
    /// verified with the public key, the metadata header required, the STS fields and the impersonation bearer checked.
    @Suite("GCP provider")
    struct GCPProviderTests {
        static let email = "builder@ocicred-test.iam.gserviceaccount.com"
        static let target = "pusher@ocicred-test.iam.gserviceaccount.com"
        static let audience =
            "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/providers/gitlab"

        /// A context, a key pair and the fixture that trusts its public half.
        struct Setup: FixtureSetup {
            var context: ProviderTestContext
            let key: RSAKeyPair
            let fixture: FixtureServer
            var tokenURL: String { fixture.baseURL + "/token" }

            init(fixtureEnvironment: [String: String] = [:]) throws {
                context = try ProviderTestContext()
                key = try RSAKeyPair(in: context.directory, name: "sa")
                var environment = [
                    "GCP_FIXTURE_PUBLIC_KEY": key.publicKeyPath, "GCP_FIXTURE_CLIENT_EMAIL": GCPProviderTests.email,
                    "GCP_FIXTURE_CLIENT_ID": "client-123.apps.googleusercontent.com",
                    "GCP_FIXTURE_CLIENT_SECRET": "d-FL95Q19q7MQmFpd7hHD0Ty",
                    "GCP_FIXTURE_REFRESH_TOKEN": "1//refresh-abc",
                    "GCP_FIXTURE_AUDIENCE": GCPProviderTests.audience,
                    "GCP_FIXTURE_IMPERSONATE": GCPProviderTests.target,
                ]
                environment.merge(fixtureEnvironment) { $1 }
                fixture = try FixtureServer(script: "gcp_fixtures.py", environment: environment)
            }

            var provider: GCPProvider { GCPProvider(httpClient: context.client) }

            func serviceAccountKey(privateKeyPEM: String? = nil) -> [String: Any] {
                [
                    "type": "service_account", "project_id": "ocicred-test", "private_key_id": "0123abcd",
                    "private_key": privateKeyPEM ?? key.privateKeyPEM, "client_email": GCPProviderTests.email,
                    "client_id": "1000", "token_uri": tokenURL,
                ]
            }

            func stop() {
                fixture.stop()
                context.remove()
            }
        }

        @Test("a service-account key from GOOGLE_APPLICATION_CREDENTIALS mints a token")
        func serviceAccountKeyMintsToken() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                setup.context.environment["GOOGLE_APPLICATION_CREDENTIALS"] = try setup.context.writeJSON(
                    "key.json", setup.serviceAccountKey())
                let request = setup.context.request(host: "gcr.io", kind: .gcr)
                #expect(setup.provider.cacheIdentity(for: request) == "sa:" + Self.email)
                let token = try await setup.provider.mint(request)
                #expect(token.username == "oauth2accesstoken")
                #expect(token.secret.exposedValue.hasPrefix("ya29.sa-"))
                #expect(abs(token.expiresAt.timeIntervalSinceNow - 3599) < 30)
                #expect(try await setup.counter("jwt_grant") == 1)
            }
        }

        @Test("a key whose signature the token endpoint cannot verify is rejected with invalid_grant, not not-found")
        func wrongKeyIsRejected() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                let directory = setup.context.directory
                let other = try await offCooperativePool { try RSAKeyPair(in: directory, name: "other") }
                setup.context.environment["GOOGLE_APPLICATION_CREDENTIALS"] = try setup.context.writeJSON(
                    "key.json", setup.serviceAccountKey(privateKeyPEM: other.privateKeyPEM))
                let error = await providerError { () async throws(ProviderError) in
                    try await setup.provider.mint(
                        setup.context.request(
                            host: "europe-docker.pkg.dev", kind: .artifactRegistry(location: "europe")))
                }
                #expect(
                    error
                        == .rejected(
                            provider: "gcp", endpoint: setup.tokenURL, code: "invalid_grant",
                            message: "Invalid JWT Signature."))
                let keyLine = other.privateKeyPEM.split(separator: "\n")[1]
                #expect(error.map { !$0.description.contains(keyLine) } == true)
            }
        }

        @Test("service-account fields in stored material mint without any file")
        func storedMaterialServiceAccount() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                let fields = setup.serviceAccountKey().mapValues { JSONValue.string($0 as! String) }
                var credentials = fields
                credentials["type"] = nil
                let material = CredentialMaterial(registry: "gcr.io", type: .gcp, credentials: credentials)
                let token = try await setup.provider.mint(
                    setup.context.request(host: "gcr.io", kind: .gcr, material: material))
                #expect(token.secret.exposedValue.hasPrefix("ya29.sa-"))
            }
        }

        @Test("the rule's key file wins over GOOGLE_APPLICATION_CREDENTIALS")
        func ruleKeyFileOverridesADC() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                setup.context.environment["GOOGLE_APPLICATION_CREDENTIALS"] = setup.context.directory.file(
                    "missing.json")
                let keyFile = try setup.context.writeJSON("rule-key.json", setup.serviceAccountKey())
                let request = setup.context.request(
                    host: "gcr.io", kind: .gcr, identity: ProviderIdentity(gcpKeyFile: keyFile))
                let token = try await setup.provider.mint(request)
                #expect(token.secret.exposedValue.hasPrefix("ya29.sa-"))

                // Without the rule, the missing ADC file is a configuration error, as in google-auth.
                let error = await providerError { () async throws(ProviderError) in
                    try await setup.provider.mint(setup.context.request(host: "gcr.io", kind: .gcr))
                }
                guard case .misconfigured(_, let detail)? = error else {
                    Issue.record("expected misconfigured, got \(String(describing: error))")
                    return
                }
                #expect(detail.contains("GOOGLE_APPLICATION_CREDENTIALS"))
            }
        }

        @Test("gcloud's authorized_user ADC file mints with the refresh-token grant; a revoked one is invalid_grant")
        func authorizedUser() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                let config = setup.context.directory.file("gcloud")
                try FileManager.default.createDirectory(atPath: config, withIntermediateDirectories: true)
                setup.context.environment["CLOUDSDK_CONFIG"] = config
                var user: [String: Any] = [
                    "type": "authorized_user", "client_id": "client-123.apps.googleusercontent.com",
                    "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty", "refresh_token": "1//refresh-abc",
                    "token_uri": setup.tokenURL,
                ]
                _ = try setup.context.writeJSON("gcloud/application_default_credentials.json", user)
                let request = setup.context.request(host: "gcr.io", kind: .gcr)
                #expect(setup.provider.cacheIdentity(for: request) == "user:client-123.apps.googleusercontent.com")
                let token = try await setup.provider.mint(request)
                #expect(token.secret.exposedValue.hasPrefix("ya29.user-"))

                user["refresh_token"] = "1//revoked"
                _ = try setup.context.writeJSON("gcloud/application_default_credentials.json", user)
                let error = await providerError { () async throws(ProviderError) in
                    try await setup.provider.mint(request)
                }
                #expect(
                    error
                        == .rejected(
                            provider: "gcp", endpoint: setup.tokenURL, code: "invalid_grant",
                            message: "Token has been expired or revoked."))
                #expect(error.map { !$0.description.contains("1//revoked") } == true)
            }
        }

        func externalAccount(_ setup: Setup, source: [String: Any], impersonate: Bool) -> [String: Any] {
            var document: [String: Any] = [
                "type": "external_account", "audience": Self.audience,
                "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                "token_url": setup.fixture.baseURL + "/v1/token", "credential_source": source,
            ]
            if impersonate {
                document["service_account_impersonation_url"] =
                    setup.fixture.baseURL + "/v1/projects/-/serviceAccounts/\(Self.target):generateAccessToken"
            }
            return document
        }

        @Test("Workload Identity Federation: a file subject token, STS, then service-account impersonation")
        func workloadIdentityFileWithImpersonation() async throws {
            let context = try ProviderTestContext()
            defer { context.remove() }
            let issuer = try await offCooperativePool { try RSAKeyPair(in: context.directory, name: "issuer") }
            let subject = try issuer.jwt([
                "iss": "https://gitlab.example", "sub": "project:1", "exp": Int(Date().timeIntervalSince1970) + 600,
            ])
            try await Setup.run(fixtureEnvironment: ["GCP_FIXTURE_SUBJECT_TOKEN": subject]) {
                (setup: inout Setup) async throws in
                let tokenFile = try setup.context.write("subject.jwt", subject + "\n")
                setup.context.environment["GOOGLE_APPLICATION_CREDENTIALS"] = try setup.context.writeJSON(
                    "wif.json", externalAccount(setup, source: ["file": tokenFile], impersonate: true))
                let request = setup.context.request(host: "us-docker.pkg.dev", kind: .artifactRegistry(location: "us"))
                #expect(setup.provider.cacheIdentity(for: request) == "wif:\(Self.audience)>\(Self.target)")
                let token = try await setup.provider.mint(request)
                #expect(token.secret.exposedValue.hasPrefix("ya29.iam-"))
                #expect(abs(token.expiresAt.timeIntervalSinceNow - 3599) < 30)
                #expect(try await setup.counter("sts") == 1)
                #expect(try await setup.counter("generate_access_token") == 1)
            }
        }

        @Test("Workload Identity Federation: a URL subject token in a JSON field, with its header")
        func workloadIdentityURLSource() async throws {
            try await Setup.run(fixtureEnvironment: ["GCP_FIXTURE_SUBJECT_TOKEN": "opaque-oidc-token"]) {
                (setup: inout Setup) async throws in
                let source: [String: Any] = [
                    "url": setup.fixture.baseURL + "/subject-token", "headers": ["X-Subject-Token-Auth": "yes"],
                    "format": ["type": "json", "subject_token_field_name": "id_token"],
                ]
                setup.context.environment["GOOGLE_APPLICATION_CREDENTIALS"] = try setup.context.writeJSON(
                    "wif.json", externalAccount(setup, source: source, impersonate: false))
                let token = try await setup.provider.mint(setup.context.request(host: "gcr.io", kind: .gcr))
                #expect(token.secret.exposedValue.hasPrefix("ya29.sts-"))
            }
        }

        @Test("an expired subject token is an expired identity, and STS is not called")
        func expiredSubjectToken() async throws {
            let context = try ProviderTestContext()
            defer { context.remove() }
            let issuer = try await offCooperativePool { try RSAKeyPair(in: context.directory, name: "issuer") }
            let subject = try issuer.jwt(["sub": "x", "exp": Int(Date().timeIntervalSince1970) - 10])
            try await Setup.run(fixtureEnvironment: ["GCP_FIXTURE_SUBJECT_TOKEN": subject]) {
                (setup: inout Setup) async throws in
                let tokenFile = try setup.context.write("subject.jwt", subject)
                setup.context.environment["GOOGLE_APPLICATION_CREDENTIALS"] = try setup.context.writeJSON(
                    "wif.json", externalAccount(setup, source: ["file": tokenFile], impersonate: false))
                let error = await providerError { () async throws(ProviderError) in
                    try await setup.provider.mint(setup.context.request(host: "gcr.io", kind: .gcr))
                }
                guard case .expiredIdentity(let provider, let detail)? = error else {
                    Issue.record("expected expiredIdentity, got \(String(describing: error))")
                    return
                }
                #expect(provider == "gcp" && detail.contains(tokenFile) && !detail.contains(subject))
                #expect(try await setup.counter("sts") == 0)
            }
        }

        @Test("the metadata server's token, found through GCE_METADATA_HOST")
        func metadataServer() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                setup.context.environment["GCE_METADATA_HOST"] = "127.0.0.1:\(setup.fixture.port)"
                let request = setup.context.request(host: "gcr.io", kind: .gcr)
                #expect(setup.provider.cacheIdentity(for: request) == "metadata")
                let token = try await setup.provider.mint(request)
                #expect(token.secret.exposedValue.hasPrefix("ya29.gce-"))
                #expect(try await setup.counter("metadata") == 1)
            }
        }

        @Test("without Metadata-Flavor the metadata server's 403 is reported as a refusal")
        func metadataWithoutFlavorHeader() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                var server = GCPMetadataServer(host: "127.0.0.1:\(setup.fixture.port)")
                server.flavorHeader = nil
                let oauth = OAuth2(provider: "gcp", client: setup.context.client)
                do throws(ProviderError) {
                    _ = try await server.fetchToken(oauth, now: Date())
                    Issue.record("the fixture accepted a request without Metadata-Flavor")
                } catch {
                    #expect(
                        error
                            == .rejected(
                                provider: "gcp", endpoint: server.tokenURL, code: "HTTP 403",
                                message: "Missing Metadata-Flavor:Google header."))
                }
            }
        }

        @Test("a ready GCP_ACCESS_TOKEN is handed out with its expiry, or five minutes when none is given")
        func readyAccessToken() async throws {
            var context = try ProviderTestContext()
            defer { context.remove() }
            let provider = GCPProvider(httpClient: context.client)
            context.environment["GCP_ACCESS_TOKEN"] = "ya29.seeded"
            var request = context.request(host: "gcr.io", kind: .gcr)
            #expect(provider.cacheIdentity(for: request).hasPrefix("token:"))
            #expect(!provider.cacheIdentity(for: request).contains("seeded"))
            var token = try await provider.mint(request)
            #expect(token.secret.exposedValue == "ya29.seeded")
            #expect(abs(token.expiresAt.timeIntervalSinceNow - 300) < 10)

            context.environment["GCP_ACCESS_TOKEN_EXPIRY"] = "2099-01-02T03:04:05Z"
            request = context.request(host: "gcr.io", kind: .gcr)
            token = try await provider.mint(request)
            #expect(token.expiresAt == Date(timeIntervalSince1970: 4_071_006_245))

            context.environment["GCP_ACCESS_TOKEN_EXPIRY"] = "tomorrow"
            request = context.request(host: "gcr.io", kind: .gcr)
            let error = await providerError { () async throws(ProviderError) in try await provider.mint(request) }
            guard case .misconfigured? = error else {
                Issue.record("expected misconfigured, got \(String(describing: error))")
                return
            }
        }

        @Test("a token with less than 60 s left is never handed out")
        func nearlyExpiredTokenRefused() async throws {
            var context = try ProviderTestContext()
            defer { context.remove() }
            let provider = GCPProvider(httpClient: context.client)
            context.environment["GCP_ACCESS_TOKEN"] = "ya29.seeded"
            let soon = Date().addingTimeInterval(30)
            context.environment["GCP_ACCESS_TOKEN_EXPIRY"] = soon.formatted(.iso8601)
            let request = context.request(host: "gcr.io", kind: .gcr)
            let error = await providerError { () async throws(ProviderError) in try await provider.mint(request) }
            guard case .expiredIdentity(_, let detail)? = error else {
                Issue.record("expected expiredIdentity, got \(String(describing: error))")
                return
            }
            #expect(detail.contains("GCP_ACCESS_TOKEN") && !detail.contains("ya29.seeded"))

            // A minted token that comes back with 30 s left is refused too.
            try await Setup.run(fixtureEnvironment: ["GCP_FIXTURE_EXPIRES_IN": "30"]) {
                (setup: inout Setup) async throws in
                setup.context.environment["GCE_METADATA_HOST"] = "127.0.0.1:\(setup.fixture.port)"
                let minted = await providerError { () async throws(ProviderError) in
                    try await setup.provider.mint(setup.context.request(host: "gcr.io", kind: .gcr))
                }
                guard case .invalidResponse(_, _, let reason)? = minted else {
                    Issue.record("expected invalidResponse, got \(String(describing: minted))")
                    return
                }
                #expect(reason.contains("at least 60 s"))
            }
        }

        @Test("the rule's gcpImpersonate trades the key's token through IAM Credentials")
        func ruleImpersonation() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                setup.context.environment["GOOGLE_APPLICATION_CREDENTIALS"] = try setup.context.writeJSON(
                    "key.json", setup.serviceAccountKey())
                setup.context.environment["CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS"] =
                    setup.fixture.baseURL + "/"
                let request = setup.context.request(
                    host: "gcr.io", kind: .gcr, identity: ProviderIdentity(gcpImpersonate: Self.target))
                #expect(setup.provider.cacheIdentity(for: request) == "sa:\(Self.email)>\(Self.target)")
                let token = try await setup.provider.mint(request)
                #expect(token.secret.exposedValue.hasPrefix("ya29.iam-"))

                let denied = setup.context.request(
                    host: "gcr.io", kind: .gcr,
                    identity: ProviderIdentity(gcpImpersonate: "other@p.iam.gserviceaccount.com"))
                let error = await providerError { () async throws(ProviderError) in
                    try await setup.provider.mint(denied)
                }
                guard case .rejected(_, _, let code, let message)? = error else {
                    Issue.record("expected rejected, got \(String(describing: error))")
                    return
                }
                #expect(code == "PERMISSION_DENIED" && message.contains("iam.serviceAccounts.getAccessToken"))
            }
        }

        @Test("with no source at all the answer is no-source, quickly, listing what was tried")
        func noSourceFailsFast() async throws {
            let context = try ProviderTestContext()
            defer { context.remove() }
            let provider = GCPProvider(httpClient: context.client)
            let started = ContinuousClock.now
            let error = await providerError { () async throws(ProviderError) in
                try await provider.mint(context.request(host: "gcr.io", kind: .gcr))
            }
            #expect(ContinuousClock.now - started < .seconds(2))
            guard case .noSource(let name, let host, let tried)? = error else {
                Issue.record("expected noSource, got \(String(describing: error))")
                return
            }
            #expect(name == "gcp" && host == "gcr.io")
            #expect(tried.first == "GCP_ACCESS_TOKEN")
            #expect(tried.contains("GOOGLE_APPLICATION_CREDENTIALS"))
            #expect(tried.last?.hasPrefix("metadata server 127.0.0.1:\(context.closedPort)") == true)
        }
    }
}

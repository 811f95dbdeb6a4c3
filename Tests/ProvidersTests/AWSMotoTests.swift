import Credentials
import Foundation
import SystemSupport
import TestSupport
import Testing
import Transport

@testable import Providers

/// The provider against a real `moto_server` that checks every request's SigV4 signature and IAM policy after its
/// setup (see MotoServer). `AWS_ENDPOINT_URL` points ECR and STS at it, as a user would for LocalStack or moto.
/// moto's ECR answers a fixed token: `AWS:123456789012-auth-token`, expiring 2015-01-01.
extension AWSIntegrationTests {
    @Suite struct AWSMotoTests {
        private func request(_ env: OcicredEnvironment, identity: ProviderIdentity = .init()) -> MintRequest {
            MintRequest(
                host: AWSTestEnvironment.privateHost, kind: AWSTestEnvironment.privateKind, identity: identity,
                environment: env)
        }

        /// moto and an empty HOME for one test, both stopped and removed after `body`, failed or not.
        private func withMoto(_ body: (MotoServer, TemporaryDirectory) async throws -> Void) async throws {
            let moto = try await MotoServer.start()
            defer { moto.stop() }
            let home = try TemporaryDirectory()
            defer { home.remove() }
            try await body(moto, home)
        }

        private func expectMotoToken(_ token: MintedToken) {
            #expect(token.username == "AWS")
            #expect(token.secret.exposedValue == "123456789012-auth-token")
            #expect(token.expiresAt == Date(timeIntervalSince1970: 1_420_070_400))
        }

        @Test func environmentKeysGetAnECRToken() async throws {
            try await withMoto { (moto, home) async throws in
                let env = AWSTestEnvironment.keys(
                    home: home.path, id: moto.accessKeyID, secret: moto.secretAccessKey, endpoint: moto.endpoint)
                let recorder = RecordingHTTPClient()
                expectMotoToken(try await AWSProvider(httpClient: recorder).mint(request(env)))
                #expect(recorder.requests.map(\.signedBy) == [moto.accessKeyID])
            }
        }

        @Test func profileFromTheSharedCredentialsFile() async throws {
            try await withMoto { (moto, home) async throws in
                try AWSTestEnvironment.write(
                    "[ci]\naws_access_key_id = \(moto.accessKeyID)\naws_secret_access_key = \(moto.secretAccessKey)\n",
                    to: home.file("creds"))
                let env = AWSTestEnvironment.empty(
                    home: home.path,
                    [
                        "AWS_PROFILE": "ci", "AWS_SHARED_CREDENTIALS_FILE": home.file("creds"),
                        "AWS_ENDPOINT_URL": moto.endpoint,
                    ])
                let provider = AWSProvider(httpClient: CurlHTTPClient())
                #expect(provider.cacheIdentity(for: request(env)) == "profile:ci")
                expectMotoToken(try await provider.mint(request(env)))
            }
        }

        @Test func roleProfileAssumesTheRoleWithItsSourceProfile() async throws {
            try await withMoto { (moto, home) async throws in
                try AWSTestEnvironment.write(
                    "[profile deploy]\nrole_arn = \(moto.roleARN)\nsource_profile = base\nrole_session_name = ci-pull\n",
                    to: home.file(".aws/config"))
                try AWSTestEnvironment.write(
                    "[base]\naws_access_key_id = \(moto.accessKeyID)\naws_secret_access_key = \(moto.secretAccessKey)\n",
                    to: home.file(".aws/credentials"))
                let env = AWSTestEnvironment.empty(
                    home: home.path, ["AWS_PROFILE": "deploy", "AWS_ENDPOINT_URL": moto.endpoint])
                let recorder = RecordingHTTPClient()
                expectMotoToken(try await AWSProvider(httpClient: recorder).mint(request(env)))
                let requests = recorder.requests
                #expect(
                    requests.map(\.operation) == [
                        "AssumeRole", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
                    ])
                #expect(requests.first?.signedBy == moto.accessKeyID)
                #expect(
                    requests.last?.signedBy?.hasPrefix("ASIA") == true, "ECR must be signed with the role's session")
            }
        }

        @Test func ruleRoleIsAssumedOnTopOfAmbientKeys() async throws {
            try await withMoto { (moto, home) async throws in
                let env = AWSTestEnvironment.keys(
                    home: home.path, id: moto.accessKeyID, secret: moto.secretAccessKey, endpoint: moto.endpoint)
                let recorder = RecordingHTTPClient()
                let provider = AWSProvider(httpClient: recorder)
                let identity = ProviderIdentity(awsRoleARN: moto.roleARN)
                #expect(provider.cacheIdentity(for: request(env, identity: identity)) == "role:\(moto.roleARN)")
                expectMotoToken(try await provider.mint(request(env, identity: identity)))
                #expect(recorder.requests.map(\.operation).first == "AssumeRole")
            }
        }

        @Test func webIdentityTokenFileIsExchangedAtSTS() async throws {
            try await withMoto { (moto, home) async throws in
                try AWSTestEnvironment.write(
                    AWSTestEnvironment.webIdentityToken(expiresIn: 3600), to: home.file("token"))
                let env = AWSTestEnvironment.empty(
                    home: home.path,
                    [
                        "AWS_WEB_IDENTITY_TOKEN_FILE": home.file("token"), "AWS_ROLE_ARN": moto.roleARN,
                        "AWS_ROLE_SESSION_NAME": "irsa-test", "AWS_ENDPOINT_URL": moto.endpoint,
                    ])
                // moto cannot authenticate an unsigned AssumeRoleWithWebIdentity (500 on the missing Authorization
                // header), so exactly that one call is let through; the ECR call after it is signature-checked again.
                try moto.allowUnauthenticatedActions(1)
                let recorder = RecordingHTTPClient()
                expectMotoToken(try await AWSProvider(httpClient: recorder).mint(request(env)))
                let requests = recorder.requests
                #expect(
                    requests.map(\.operation) == [
                        "AssumeRoleWithWebIdentity", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
                    ])
                #expect(requests.first?.signedBy == nil, "AssumeRoleWithWebIdentity is sent unsigned")
                #expect(requests.last?.signedBy?.hasPrefix("ASIA") == true)
            }
        }

        @Test func wrongSecretSurfacesMotosSignatureError() async throws {
            try await withMoto { (moto, home) async throws in
                let env = AWSTestEnvironment.keys(
                    home: home.path, id: moto.accessKeyID, secret: moto.secretAccessKey + "x", endpoint: moto.endpoint)
                let error = await #expect(throws: ProviderError.self) {
                    try await AWSProvider(httpClient: CurlHTTPClient()).mint(request(env))
                }
                guard case .rejected(let provider, let endpoint, let code, let message) = error else {
                    Issue.record("expected .rejected, got \(String(describing: error))")
                    return
                }
                #expect(provider == "aws" && endpoint == moto.endpoint)
                #expect(code == "SignatureDoesNotMatch")
                #expect(message.contains("signature"))
                #expect(!"\(error!)".contains(moto.secretAccessKey))

                let unknown = AWSTestEnvironment.keys(
                    home: home.path, id: "AKIAUNKNOWN000000000", secret: "x", endpoint: moto.endpoint)
                let second = await #expect(throws: ProviderError.self) {
                    try await AWSProvider(httpClient: CurlHTTPClient()).mint(request(unknown))
                }
                guard case .rejected(_, _, let unknownCode, _) = second else {
                    Issue.record("expected .rejected, got \(String(describing: second))")
                    return
                }
                #expect(unknownCode == "InvalidClientTokenId")
            }
        }
    }
}

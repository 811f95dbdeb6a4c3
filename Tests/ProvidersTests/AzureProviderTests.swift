import Credentials
import Foundation
import SystemSupport
import TestSupport
import Testing
import Transport

@testable import Providers

extension CloudProviderTests {
    /// The Azure provider against `azure_fixtures.py`: Entra ID checking the client secret or the federated
    /// assertion's signature (public key only), IMDS requiring `Metadata: true`, and ACR's exchange accepting only
    /// AAD tokens the fixture issued.
    @Suite("Azure provider")
    struct AzureProviderTests {
        static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        static let clientID = "5a0f4c1e-1111-4222-8333-944455556666"
        static let clientSecret = "Qx~8Q~not-a-real-secret.Value"
        static let managedIdentityClientID = "0b1c2d3e-aaaa-4bbb-8ccc-ddddeeeeffff"
        static let registry = "ocicredtest.azurecr.io"

        struct Setup: FixtureSetup {
            var context: ProviderTestContext
            let issuer: RSAKeyPair
            let fixture: FixtureServer

            init(fixtureEnvironment: [String: String] = [:]) throws {
                context = try ProviderTestContext()
                issuer = try RSAKeyPair(in: context.directory, name: "issuer")
                var environment = [
                    "AZURE_FIXTURE_TENANT": AzureProviderTests.tenant,
                    "AZURE_FIXTURE_CLIENT_ID": AzureProviderTests.clientID,
                    "AZURE_FIXTURE_CLIENT_SECRET": AzureProviderTests.clientSecret,
                    "AZURE_FIXTURE_ASSERTION_PUBLIC_KEY": issuer.publicKeyPath,
                    "AZURE_FIXTURE_ASSERTION_ISSUER": "https://oidc.prod-aks.azure.com/tenant/issuer/",
                    "AZURE_FIXTURE_MI_CLIENT_ID": AzureProviderTests.managedIdentityClientID,
                    "AZURE_FIXTURE_REGISTRY": AzureProviderTests.registry,
                ]
                environment.merge(fixtureEnvironment) { $1 }
                fixture = try FixtureServer(script: "azure_fixtures.py", environment: environment)
                context.environment["AZURE_AUTHORITY_HOST"] = fixture.baseURL + "/"
                context.environment["OCICRED_ACR_EXCHANGE_ENDPOINT"] = fixture.baseURL
            }

            var provider: AzureProvider { AzureProvider(httpClient: context.client) }
            var request: MintRequest { context.request(host: AzureProviderTests.registry, kind: .acr) }

            mutating func useClientSecret(_ secret: String = AzureProviderTests.clientSecret) {
                context.environment["AZURE_CLIENT_ID"] = AzureProviderTests.clientID
                context.environment["AZURE_TENANT_ID"] = AzureProviderTests.tenant
                context.environment["AZURE_CLIENT_SECRET"] = secret
            }

            /// A Kubernetes-style projected token for workload identity, written where AKS would mount it.
            mutating func useFederatedToken(signedBy key: RSAKeyPair? = nil, expiresIn: Int = 3600) throws -> String {
                let token = try (key ?? issuer).jwt([
                    "aud": ["api://AzureADTokenExchange"], "iss": "https://oidc.prod-aks.azure.com/tenant/issuer/",
                    "sub": "system:serviceaccount:ci:builder", "exp": Int(Date().timeIntervalSince1970) + expiresIn,
                ])
                context.environment["AZURE_CLIENT_ID"] = AzureProviderTests.clientID
                context.environment["AZURE_TENANT_ID"] = AzureProviderTests.tenant
                context.environment["AZURE_FEDERATED_TOKEN_FILE"] = try context.write("azure-identity-token", token)
                return token
            }

            func stop() {
                fixture.stop()
                context.remove()
            }
        }

        @Test("a client secret buys an AAD token, exchanged for an ACR refresh token with the JWT's expiry")
        func clientSecretAndExchange() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                setup.useClientSecret()
                #expect(setup.provider.cacheIdentity(for: setup.request) == "azure-sp:\(Self.clientID)@\(Self.tenant)")
                let token = try await setup.provider.mint(setup.request)
                #expect(token.username == "00000000-0000-0000-0000-000000000000")
                #expect(token.secret.exposedValue.split(separator: ".").count == 3)
                #expect(abs(token.expiresAt.timeIntervalSinceNow - 10800) < 30)
                #expect(try await setup.counter("aad_token") == 1)
                #expect(try await setup.counter("exchange") == 1)
            }
        }

        @Test("the refresh token's lifetime is read from its exp claim")
        func refreshTokenExpiryFromJWT() async throws {
            try await Setup.run(fixtureEnvironment: ["AZURE_FIXTURE_REFRESH_LIFETIME": "1800"]) {
                (setup: inout Setup) async throws in
                setup.useClientSecret()
                let token = try await setup.provider.mint(setup.request)
                #expect(abs(token.expiresAt.timeIntervalSinceNow - 1800) < 30)
            }
        }

        @Test("a wrong client secret is AADSTS7000215, and the secret is in no message")
        func wrongClientSecret() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                setup.useClientSecret("wrong-secret-value")
                let request = setup.request
                let provider = setup.provider
                let error = await providerError { () async throws(ProviderError) in try await provider.mint(request) }
                guard case .rejected(let name, let endpoint, let code, let message)? = error else {
                    Issue.record("expected rejected, got \(String(describing: error))")
                    return
                }
                #expect(name == "azure")
                #expect(endpoint == setup.fixture.baseURL + "/\(Self.tenant)/oauth2/v2.0/token")
                #expect(code == "AADSTS7000215")
                #expect(message.contains("Invalid client secret provided"))
                #expect(error.map { !$0.description.contains("wrong-secret-value") } == true)
                #expect(try await setup.counter("exchange") == 0)
            }
        }

        @Test("stored material's secret with the rule's client and tenant")
        func storedMaterialAndRuleIdentity() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                let material = CredentialMaterial(
                    registry: Self.registry, type: .azure,
                    credentials: ["AZURE_CLIENT_SECRET": .string(Self.clientSecret)])
                let request = setup.context.request(
                    host: Self.registry, kind: .acr, material: material,
                    identity: ProviderIdentity(azureClientID: Self.clientID, azureTenantID: Self.tenant))
                let token = try await setup.provider.mint(request)
                #expect(!token.secret.isEmpty)
            }
        }

        @Test("workload identity: the federated token file is the client assertion")
        func federatedToken() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                _ = try setup.useFederatedToken()
                #expect(setup.provider.cacheIdentity(for: setup.request) == "azure-wi:\(Self.clientID)@\(Self.tenant)")
                let token = try await setup.provider.mint(setup.request)
                #expect(abs(token.expiresAt.timeIntervalSinceNow - 10800) < 30)
            }
        }

        @Test("a federated token from an untrusted issuer fails signature validation (AADSTS700027)")
        func federatedTokenWrongKey() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                let directory = setup.context.directory
                let stranger = try await offCooperativePool { try RSAKeyPair(in: directory, name: "stranger") }
                let assertion = try setup.useFederatedToken(signedBy: stranger)
                let request = setup.request
                let provider = setup.provider
                let error = await providerError { () async throws(ProviderError) in try await provider.mint(request) }
                guard case .rejected(_, _, let code, _)? = error else {
                    Issue.record("expected rejected, got \(String(describing: error))")
                    return
                }
                #expect(code == "AADSTS700027")
                #expect(error.map { !$0.description.contains(assertion) } == true)
            }
        }

        @Test("an expired federated token is an expired identity, found before any request")
        func federatedTokenExpired() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                _ = try setup.useFederatedToken(expiresIn: -5)
                let request = setup.request
                let provider = setup.provider
                let error = await providerError { () async throws(ProviderError) in try await provider.mint(request) }
                guard case .expiredIdentity(let name, _)? = error else {
                    Issue.record("expected expiredIdentity, got \(String(describing: error))")
                    return
                }
                #expect(name == "azure")
                #expect(try await setup.counter("aad_token") == 0)
            }
        }

        @Test("a managed identity from IMDS; the exchange's tenant comes from the token")
        func managedIdentity() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                setup.context.environment["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = setup.fixture.baseURL
                #expect(setup.provider.cacheIdentity(for: setup.request) == "azure-mi")
                let token = try await setup.provider.mint(setup.request)
                #expect(!token.secret.isEmpty)
                #expect(try await setup.counter("imds") == 1)
                #expect(try await setup.counter("exchange") == 1)

                // A user-assigned identity the VM does not have.
                setup.context.environment["AZURE_CLIENT_ID"] = "ffffffff-0000-0000-0000-000000000000"
                let request = setup.request
                let provider = setup.provider
                #expect(provider.cacheIdentity(for: request) == "azure-mi:ffffffff-0000-0000-0000-000000000000")
                let error = await providerError { () async throws(ProviderError) in try await provider.mint(request) }
                guard case .rejected(_, _, let code, let message)? = error else {
                    Issue.record("expected rejected, got \(String(describing: error))")
                    return
                }
                #expect(code == "invalid_request" && message == "Identity not found")
            }
        }

        @Test("IMDS refuses a request without Metadata: true")
        func imdsRequiresMetadataHeader() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                let url =
                    setup.fixture.baseURL
                    + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fcontainerregistry.azure.net"
                let response = try await setup.context.client.send(HTTPRequest(url: url))
                #expect(response.status == 400)
                #expect(response.bodyText.contains("Required metadata header not specified"))
            }
        }

        @Test("the exchange refuses an AAD token it did not issue")
        func exchangeRejectsUnknownToken() async throws {
            try await Setup.run { (setup: inout Setup) async throws in
                let exchange = ACRTokenExchange(
                    registry: Self.registry, environment: OcicredEnvironment(setup.context.environment))
                let oauth = OAuth2(provider: "azure", client: setup.context.client)
                do throws(ProviderError) {
                    _ = try await exchange.refreshToken(
                        registry: Self.registry, tenantID: Self.tenant, aadToken: Secret("eyJ.forged.token"), oauth,
                        now: Date())
                    Issue.record("the exchange accepted a forged token")
                } catch {
                    #expect(
                        error
                            == .rejected(
                                provider: "azure", endpoint: exchange.url, code: "UNAUTHORIZED",
                                message: "The access token is invalid."))
                }
            }
        }

        @Test("a refresh token with less than 60 s left is refused")
        func shortLivedRefreshTokenRefused() async throws {
            try await Setup.run(fixtureEnvironment: ["AZURE_FIXTURE_REFRESH_LIFETIME": "20"]) {
                (setup: inout Setup) async throws in
                setup.useClientSecret()
                let request = setup.request
                let provider = setup.provider
                let error = await providerError { () async throws(ProviderError) in try await provider.mint(request) }
                guard case .invalidResponse(_, _, let reason)? = error else {
                    Issue.record("expected invalidResponse, got \(String(describing: error))")
                    return
                }
                #expect(reason.contains("at least 60 s"))
            }
        }

        @Test("a secret without a tenant is a configuration error, not a silent managed-identity attempt")
        func halfConfigured() async throws {
            var context = try ProviderTestContext()
            defer { context.remove() }
            context.environment["AZURE_CLIENT_SECRET"] = "s"
            context.environment["AZURE_CLIENT_ID"] = Self.clientID
            let provider = AzureProvider(httpClient: context.client)
            let request = context.request(host: Self.registry, kind: .acr)
            let error = await providerError { () async throws(ProviderError) in try await provider.mint(request) }
            guard case .misconfigured(_, let detail)? = error else {
                Issue.record("expected misconfigured, got \(String(describing: error))")
                return
            }
            #expect(detail.contains("AZURE_TENANT_ID"))
        }

        @Test("with no source at all the answer is no-source, quickly")
        func noSourceFailsFast() async throws {
            let context = try ProviderTestContext()
            defer { context.remove() }
            let provider = AzureProvider(httpClient: context.client)
            let request = context.request(host: Self.registry, kind: .acr)
            let started = ContinuousClock.now
            let error = await providerError { () async throws(ProviderError) in try await provider.mint(request) }
            #expect(ContinuousClock.now - started < .seconds(2))
            guard case .noSource(let name, _, let tried)? = error else {
                Issue.record("expected noSource, got \(String(describing: error))")
                return
            }
            #expect(name == "azure")
            #expect(tried.contains("AZURE_CLIENT_SECRET") && tried.contains("AZURE_FEDERATED_TOKEN_FILE"))
            #expect(tried.last?.hasPrefix("managed identity at http://127.0.0.1:\(context.closedPort)") == true)
        }
    }
}

import Crypto
import Foundation
import TestSupport
import Testing

/// `ocicred kubelet` in service-account-token mode for GCP Workload Identity Federation and Azure federated
/// credentials, as the kubelet runs it: a CredentialProviderRequest carrying a pod's token (a JWT this test signs
/// as the cluster's issuer) and its service account's annotations, against the strict token fixtures, which
/// verify the token's signature and record what reached them.
enum KubeletWorkloadIdentity {
    /// A cluster's issuer and a cloud's token fixture that trusts it, with the environment pointing ocicred there;
    /// `stop()` in a `defer`. The cloud gives the fixture and the environment; the rest is the same for each.
    struct Cluster {
        let directory: TemporaryDirectory
        let issuer: Issuer
        let fixture: FixtureServer
        let environment: [String: String]
        let image: String

        init(
            name: String, image: String, fixture: (Issuer) throws -> FixtureServer,
            environment: (FixtureServer) throws -> [String: String]
        ) throws {
            directory = try TemporaryDirectory(prefix: "ocicred-kubelet-\(name)")
            do {
                issuer = try Issuer(in: directory, name: "cluster")
                self.fixture = try fixture(issuer)
            } catch {
                directory.remove()
                throw error
            }
            do {
                self.environment = try environment(self.fixture)
            } catch {
                self.fixture.stop()
                directory.remove()
                throw error
            }
            self.image = image
        }

        /// The token a pod's service account gets for a GCP pool provider (`https:` + its name, GCP's default).
        func gcpToken(_ serviceAccount: String, provider: String) throws -> String {
            try issuer.podToken(serviceAccount: serviceAccount, audience: "https:" + provider)
        }

        /// The token a pod's service account gets for Entra ID workload identity.
        func azureToken(_ serviceAccount: String) throws -> String {
            try issuer.podToken(serviceAccount: serviceAccount, audience: "api://AzureADTokenExchange")
        }

        func kubelet(token: String, annotations: [String: String], extra: [String: String] = [:]) throws
            -> ProcessResult
        {
            try OcicredBinary.run(
                ["kubelet"], home: directory.file("home"),
                stdin: KubeletWorkloadIdentity.request(image: image, token: token, annotations: annotations),
                extraEnvironment: environment.merging(extra) { $1 }, timeout: 30)
        }

        func stop() {
            fixture.stop()
            directory.remove()
        }
    }

    /// A cluster's service-account issuer: an RSA key made by the `openssl` CLI; only the public half goes to
    /// the fixture, which verifies pod tokens with it as a pool's OIDC provider or Entra ID does.
    struct Issuer {
        let publicKeyPath: String
        let signer: RSASigner

        init(in directory: TemporaryDirectory, name: String) throws {
            let privateKeyPath = directory.file(name + ".pem")
            publicKeyPath = directory.file(name + ".pub.pem")
            for arguments in [
                ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", privateKeyPath],
                ["pkey", "-in", privateKeyPath, "-pubout", "-out", publicKeyPath],
            ] {
                let result = try ProcessRunner.run("openssl", arguments, timeout: 60)
                try #require(result.status == 0, "openssl \(arguments[0]): \(result)")
            }
            signer = try RSASigner(pem: String(contentsOfFile: privateKeyPath, encoding: .utf8))
        }

        /// A projected service-account token for `serviceAccount` (`NS:NAME`) with `audience`.
        func podToken(serviceAccount: String, audience: String, expiresIn: TimeInterval = 3600) throws -> String {
            let now = Int(Date().timeIntervalSince1970)
            let claims: [String: Any] = [
                "iss": "https://kubernetes.default.svc", "sub": "system:serviceaccount:" + serviceAccount,
                "aud": [audience], "iat": now, "nbf": now, "exp": now + Int(expiresIn),
            ]
            let header = try JSONSerialization.data(withJSONObject: ["alg": "RS256", "kid": "cluster"])
            let body = try JSONSerialization.data(withJSONObject: claims)
            return try JWT.sign(headerJSON: Array(header), claimsJSON: Array(body), signer: signer)
        }
    }

    static func request(image: String, token: String, annotations: [String: String]) throws -> String {
        var object: [String: Any] = [
            "apiVersion": "credentialprovider.kubelet.k8s.io/v1", "kind": "CredentialProviderRequest",
            "image": image, "serviceAccountToken": token,
        ]
        if !annotations.isEmpty { object["serviceAccountAnnotations"] = annotations }
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    /// What the fixture's `/__seen` recorded: every token request, in order.
    static func seen(_ fixture: FixtureServer) throws -> [[String: String]] {
        let result = try ProcessRunner.run("curl", ["-sf", fixture.baseURL + "/__seen"])
        try #require(result.status == 0, "\(result)")
        return try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [[String: String?]])
            .map { $0.compactMapValues { $0 } }
    }

    /// Checks that stdout is exactly one CredentialProviderResponse the kubelet's strict decoder accepts, and
    /// returns its only auth entry and its cacheDuration in seconds.
    static func response(_ result: ProcessResult, host: String) throws -> (
        username: String, password: String, cacheSeconds: Int
    ) {
        try #require(result.status == 0, "\(result)")
        #expect(result.stdoutText.hasSuffix("}\n") && result.stdoutText.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        #expect(Set(object.keys) == ["kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"])
        #expect(object["kind"] as? String == "CredentialProviderResponse")
        #expect(object["apiVersion"] as? String == "credentialprovider.kubelet.k8s.io/v1")
        #expect(object["cacheKeyType"] as? String == "Registry")
        let auth = try #require(object["auth"] as? [String: [String: Any]])
        #expect(Set(auth.keys) == [host])
        let entry = try #require(auth[host])
        #expect(Set(entry.keys) == ["username", "password"])
        let duration = try #require(object["cacheDuration"] as? String)
        return (
            try #require(entry["username"] as? String), try #require(entry["password"] as? String),
            try #require(goSeconds(duration), "cacheDuration \(duration)")
        )
    }

    /// Seconds of a Go duration string as the kubelet parses `metav1.Duration` ("24m59s", "1h0m0s").
    static func goSeconds(_ text: String) -> Int? {
        var total = 0, number = 0, digits = false
        for character in text {
            if let digit = character.wholeNumberValue {
                number = number * 10 + digit
                digits = true
                continue
            }
            guard digits else { return nil }
            switch character {
            case "h": total += number * 3600
            case "m": total += number * 60
            case "s": total += number
            default: return nil
            }
            number = 0
            digits = false
        }
        return digits ? nil : total
    }
}

@Suite(.serialized)
struct KubeletGCPWorkloadIdentityTests {
    static let project = "projects/123456789012/locations/global/workloadIdentityPools/ci"
    static let builders = "//iam.googleapis.com/" + project + "/providers/builders"
    static let releasers = "//iam.googleapis.com/" + project + "/providers/releasers"
    static let puller = "puller@proj.iam.gserviceaccount.com"
    static let releaser = "releaser@proj.iam.gserviceaccount.com"
    static let image = "europe-docker.pkg.dev/proj/team/app:1"
    static let host = "europe-docker.pkg.dev"

    /// Both pool providers trust the cluster's issuer; only the two service accounts may be impersonated.
    /// Tokens live 3000 s, so a correct cacheDuration is 1500 s, less the seconds the test takes.
    static func setUp() throws -> KubeletWorkloadIdentity.Cluster {
        try KubeletWorkloadIdentity.Cluster(
            name: "gcp", image: image,
            fixture: { issuer in
                try FixtureServer(
                    script: "gcp_fixtures.py",
                    environment: [
                        "GCP_FIXTURE_SUBJECT_PUBLIC_KEY": issuer.publicKeyPath,
                        "GCP_FIXTURE_SUBJECT_ISSUER": "https://kubernetes.default.svc",
                        "GCP_FIXTURE_AUDIENCE": builders + "," + releasers,
                        "GCP_FIXTURE_IMPERSONATE": puller + "," + releaser,
                        "GCP_FIXTURE_EXPIRES_IN": "3000",
                    ])
            },
            environment: { fixture in
                [
                    "CLOUDSDK_API_ENDPOINT_OVERRIDES_STS": fixture.baseURL + "/",
                    "CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS": fixture.baseURL + "/",
                    "GCE_METADATA_HOST": "127.0.0.1:\(try FreePort.pick())",
                ]
            })
    }

    @Test func eachPodsTokenIsExchangedAtItsAnnotatedPoolProviderAndImpersonatesItsAnnotatedAccount() throws {
        let setup = try Self.setUp()
        defer { setup.stop() }
        let builderToken = try setup.gcpToken("ci:builder", provider: Self.builders)
        let releaserToken = try setup.gcpToken("ci:releaser", provider: Self.releasers)

        let first = try setup.kubelet(
            token: builderToken,
            annotations: [
                "ocicred.io/gcp-workload-identity-provider": Self.builders,
                "iam.gke.io/gcp-service-account": Self.puller,
            ])
        let answer = try KubeletWorkloadIdentity.response(first, host: Self.host)
        #expect(answer.username == "oauth2accesstoken")
        #expect(answer.password.hasPrefix("ya29.iam-"), "the impersonated account's token, not the federated one")
        #expect((1400...1500).contains(answer.cacheSeconds), "half of 3000 s: \(answer.cacheSeconds)")
        #expect(!first.stderrText.contains(builderToken) && !first.stderrText.contains(answer.password))

        // A second pod, another service account: its own token, pool provider (given in the short `projects/…`
        // form) and account. Nothing is shared with the first pod's exchange.
        let second = try setup.kubelet(
            token: releaserToken,
            annotations: [
                "ocicred.io/gcp-workload-identity-provider": String(Self.releasers.dropFirst(21)),
                "iam.gke.io/gcp-service-account": Self.releaser,
            ])
        let secondAnswer = try KubeletWorkloadIdentity.response(second, host: Self.host)
        #expect(secondAnswer.password != answer.password)

        let seen = try KubeletWorkloadIdentity.seen(setup.fixture)
        try #require(seen.count == 4, "\(seen)")
        #expect(seen[0]["endpoint"] == "sts")
        #expect(seen[0]["subject_token"] == builderToken, "the pod's token is the STS subject token")
        #expect(seen[0]["audience"] == Self.builders)
        #expect(seen[0]["subject_token_type"] == "urn:ietf:params:oauth:token-type:jwt")
        #expect(seen[1] == ["endpoint": "generate_access_token", "service_account": Self.puller])
        #expect(seen[2]["subject_token"] == releaserToken)
        #expect(seen[2]["audience"] == Self.releasers)
        #expect(seen[3] == ["endpoint": "generate_access_token", "service_account": Self.releaser])
    }

    @Test func thePluginsEnvironmentNamesThePoolProviderWhenTheServiceAccountIsNotAnnotated() throws {
        let setup = try Self.setUp()
        defer { setup.stop() }
        let token = try setup.gcpToken("ci:builder", provider: Self.builders)
        let result = try setup.kubelet(
            token: token, annotations: [:], extra: ["OCICRED_GCP_WORKLOAD_IDENTITY_PROVIDER": Self.builders])
        let answer = try KubeletWorkloadIdentity.response(result, host: Self.host)
        // No service account to impersonate: the federated token itself (direct resource access).
        #expect(answer.password.hasPrefix("ya29.sts-"))
        let seen = try KubeletWorkloadIdentity.seen(setup.fixture)
        #expect(seen.map { $0["endpoint"] } == ["sts"])
        #expect(seen.first?["subject_token"] == token)
    }

    @Test func anExternalAccountFileIsUsedWithThePodsTokenAsItsSubject() throws {
        let setup = try Self.setUp()
        defer { setup.stop() }
        // The file's own subject source does not exist on the node: the pod's token replaces it.
        let configuration: [String: Any] = [
            "type": "external_account", "audience": Self.releasers,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": setup.fixture.baseURL + "/v1/token",
            "service_account_impersonation_url": setup.fixture.baseURL
                + "/v1/projects/-/serviceAccounts/\(Self.releaser):generateAccessToken",
            "credential_source": ["file": setup.directory.file("no-such-token")],
        ]
        let path = setup.directory.file("wif.json")
        try JSONSerialization.data(withJSONObject: configuration).write(to: URL(fileURLWithPath: path))
        let token = try setup.gcpToken("ci:releaser", provider: Self.releasers)
        let result = try setup.kubelet(
            token: token, annotations: [:],
            extra: ["GOOGLE_APPLICATION_CREDENTIALS": path, "CLOUDSDK_API_ENDPOINT_OVERRIDES_STS": ""])
        let answer = try KubeletWorkloadIdentity.response(result, host: Self.host)
        #expect(answer.password.hasPrefix("ya29.iam-"))
        let seen = try KubeletWorkloadIdentity.seen(setup.fixture)
        try #require(seen.count == 2, "\(seen)")
        #expect(seen[0]["subject_token"] == token && seen[0]["audience"] == Self.releasers)
        #expect(seen[1]["service_account"] == Self.releaser)
    }

    @Test func withoutAPoolProviderTheErrorSaysWhatToAnnotateAndNothingIsAnswered() throws {
        let setup = try Self.setUp()
        defer { setup.stop() }
        let result = try setup.kubelet(
            token: try setup.gcpToken("ci:builder", provider: Self.builders),
            annotations: ["iam.gke.io/gcp-service-account": Self.puller])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty, "no empty-but-valid response: \(result.stdoutText)")
        #expect(result.stderrText.contains("ocicred.io/gcp-workload-identity-provider"), "\(result.stderrText)")
        #expect(result.stderrText.contains("OCICRED_GCP_WORKLOAD_IDENTITY_PROVIDER"))
        #expect(try setup.fixture.counter("sts") == 0)
    }

    @Test func aTokenTheProviderDoesNotTrustIsAClearErrorWithoutTheToken() throws {
        let setup = try Self.setUp()
        defer { setup.stop() }
        let stranger = try KubeletWorkloadIdentity.Issuer(in: setup.directory, name: "other-cluster")
        let token = try stranger.podToken(serviceAccount: "ci:builder", audience: "https:" + Self.builders)
        let result = try setup.kubelet(
            token: token, annotations: ["ocicred.io/gcp-workload-identity-provider": Self.builders])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderrText.contains("invalid_grant"), "\(result.stderrText)")
        #expect(result.stderrText.contains("signature could not be verified"))
        for part in token.split(separator: ".") { #expect(!result.stderrText.contains(part)) }
        #expect(try KubeletWorkloadIdentity.seen(setup.fixture).first?["subject_token"] == token)
    }
}

@Suite(.serialized)
struct KubeletAzureWorkloadIdentityTests {
    static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    static let builderApp = "11111111-2222-3333-4444-555555555555"
    static let releaserApp = "66666666-7777-8888-9999-000000000000"
    static let registry = "teamregistry.azurecr.io"

    /// Two applications, each with a federated credential trusting one service account; ACR refresh tokens
    /// live 7200 s, so a correct cacheDuration is 3600 s, less the seconds the test takes.
    static func setUp() throws -> KubeletWorkloadIdentity.Cluster {
        let federated = [
            builderApp: "system:serviceaccount:ci:builder", releaserApp: "system:serviceaccount:ci:releaser",
        ]
        let credentials = String(decoding: try JSONSerialization.data(withJSONObject: federated), as: UTF8.self)
        return try KubeletWorkloadIdentity.Cluster(
            name: "azure", image: registry + "/team/app:1",
            fixture: { issuer in
                try FixtureServer(
                    script: "azure_fixtures.py",
                    environment: [
                        "AZURE_FIXTURE_TENANT": tenant,
                        "AZURE_FIXTURE_ASSERTION_PUBLIC_KEY": issuer.publicKeyPath,
                        "AZURE_FIXTURE_ASSERTION_ISSUER": "https://kubernetes.default.svc",
                        "AZURE_FIXTURE_FEDERATED_CREDENTIALS": credentials,
                        "AZURE_FIXTURE_REGISTRY": registry,
                        "AZURE_FIXTURE_REFRESH_LIFETIME": "7200",
                    ])
            },
            environment: { fixture in
                [
                    "AZURE_AUTHORITY_HOST": fixture.baseURL + "/",
                    "OCICRED_ACR_EXCHANGE_ENDPOINT": fixture.baseURL,
                    "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:\(try FreePort.pick())",
                ]
            })
    }

    @Test func eachPodsTokenIsTheAssertionForTheApplicationItsServiceAccountNames() throws {
        let setup = try Self.setUp()
        defer { setup.stop() }
        let builderToken = try setup.azureToken("ci:builder")
        let releaserToken = try setup.azureToken("ci:releaser")
        // The node's own settings name another application and tenant: the annotations win over them.
        let node = ["AZURE_CLIENT_ID": "node-identity", "AZURE_TENANT_ID": "node-tenant"]

        let first = try setup.kubelet(
            token: builderToken,
            annotations: [
                "azure.workload.identity/client-id": Self.builderApp, "azure.workload.identity/tenant-id": Self.tenant,
            ],
            extra: node)
        let answer = try KubeletWorkloadIdentity.response(first, host: Self.registry)
        #expect(answer.username == "00000000-0000-0000-0000-000000000000")
        #expect(!answer.password.isEmpty)
        #expect((3500...3600).contains(answer.cacheSeconds), "half of 7200 s: \(answer.cacheSeconds)")
        #expect(!first.stderrText.contains(builderToken) && !first.stderrText.contains(answer.password))

        let second = try setup.kubelet(
            token: releaserToken,
            annotations: [
                "azure.workload.identity/client-id": Self.releaserApp,
                "azure.workload.identity/tenant-id": Self.tenant,
            ],
            extra: node)
        _ = try KubeletWorkloadIdentity.response(second, host: Self.registry)

        let seen = try KubeletWorkloadIdentity.seen(setup.fixture)
        #expect(
            seen == [
                ["tenant": Self.tenant, "client_id": Self.builderApp, "client_assertion": builderToken],
                ["tenant": Self.tenant, "client_id": Self.releaserApp, "client_assertion": releaserToken],
            ])
        #expect(try setup.fixture.counter("exchange") == 2)
    }

    @Test func thePluginsEnvironmentNamesTheApplicationWhenTheServiceAccountIsNotAnnotated() throws {
        let setup = try Self.setUp()
        defer { setup.stop() }
        let token = try setup.azureToken("ci:builder")
        let result = try setup.kubelet(
            token: token, annotations: [:],
            extra: ["AZURE_CLIENT_ID": Self.builderApp, "AZURE_TENANT_ID": Self.tenant])
        _ = try KubeletWorkloadIdentity.response(result, host: Self.registry)
        let seen = try KubeletWorkloadIdentity.seen(setup.fixture)
        #expect(seen == [["tenant": Self.tenant, "client_id": Self.builderApp, "client_assertion": token]])
    }

    @Test func withoutAClientIDTheErrorSaysWhatToAnnotateAndNothingIsAnswered() throws {
        let setup = try Self.setUp()
        defer { setup.stop() }
        let result = try setup.kubelet(
            token: try setup.azureToken("ci:builder"), annotations: ["azure.workload.identity/tenant-id": Self.tenant])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty, "no empty-but-valid response: \(result.stdoutText)")
        #expect(result.stderrText.contains("azure.workload.identity/client-id"), "\(result.stderrText)")
        #expect(result.stderrText.contains("AZURE_CLIENT_ID"))
        #expect(!result.stderrText.contains("azure.workload.identity/tenant-id"), "the tenant was given")
        #expect(try setup.fixture.counter("aad_token") == 0)
        #expect(try setup.fixture.counter("imds") == 0, "no fall-back to the node's managed identity")
    }

    /// A token for another service account than the application trusts, and one from another cluster.
    @Test(arguments: [("ci:releaser", false, "AADSTS70021"), ("ci:builder", true, "AADSTS700027")])
    func aRejectedTokenIsAClearErrorWithoutTheToken(serviceAccount: String, foreignIssuer: Bool, code: String) throws {
        let setup = try Self.setUp()
        defer { setup.stop() }
        let issuer =
            foreignIssuer ? try KubeletWorkloadIdentity.Issuer(in: setup.directory, name: "other") : setup.issuer
        let token = try issuer.podToken(serviceAccount: serviceAccount, audience: "api://AzureADTokenExchange")
        let result = try setup.kubelet(
            token: token,
            annotations: [
                "azure.workload.identity/client-id": Self.builderApp, "azure.workload.identity/tenant-id": Self.tenant,
            ])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderrText.contains(code), "\(result.stderrText)")
        for part in token.split(separator: ".") { #expect(!result.stderrText.contains(part)) }
        #expect(try KubeletWorkloadIdentity.seen(setup.fixture).first?["client_assertion"] == token)
        #expect(try setup.fixture.counter("exchange") == 0)
    }
}

import Credentials
import SystemSupport
import Testing

@testable import Providers

/// The chain's order and the cache identity, decided without network.
@Suite struct AWSCredentialChainTests {
    private func plan(
        _ env: [String: String], material: CredentialMaterial? = nil, identity: ProviderIdentity = .init(),
        config: [String: [String: String]] = [:], credentials: [String: [String: String]] = [:]
    ) -> AWSCredentialChain.Plan {
        AWSCredentialChain.plan(
            material: material, identity: identity, environment: OcicredEnvironment(env),
            config: AWSSharedConfig.merge(config: config, credentials: credentials))
    }

    private let keys = ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s"]

    @Test func orderFollowsTheSDKs() {
        #expect(plan(keys).cacheIdentity == "key:AKIDENV")
        #expect(plan(["AWS_ACCESS_KEY_ID": "AKIDONLY"]).cacheIdentity == "imds", "a lone key id is no credential")
        let webIdentity = ["AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"]
        #expect(plan(webIdentity).cacheIdentity == "webidentity:arn:aws:iam::1:role/r")
        #expect(plan(keys.merging(webIdentity) { $1 }).cacheIdentity == "key:AKIDENV")
        #expect(plan(["AWS_PROFILE": "dev"]).cacheIdentity == "profile:dev")
        #expect(
            plan([:], credentials: ["default": ["aws_access_key_id": "A", "aws_secret_access_key": "s"]])
                .cacheIdentity == "profile:default")
        #expect(plan([:], config: ["default": ["region": "eu-west-1"]]).cacheIdentity == "imds")
        #expect(plan(["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x"]).cacheIdentity == "container")
        #expect(plan([:]).cacheIdentity == "imds")
        let disabled = plan(["AWS_EC2_METADATA_DISABLED": "true"])
        #expect(disabled.base == .none)
        #expect(disabled.tried.count == 5)
    }

    @Test func configuredSourcesWinOverAmbientOnes() {
        let material = CredentialMaterial(
            registry: "r", type: .aws,
            credentials: ["AWS_ACCESS_KEY_ID": .string("AKIDSTORED"), "AWS_SECRET_ACCESS_KEY": .string("s")])
        #expect(plan(keys, material: material).cacheIdentity == "key:AKIDSTORED")
        let withRole = CredentialMaterial(
            registry: "r", type: .aws,
            credentials: [
                "AWS_ACCESS_KEY_ID": .string("AKIDSTORED"), "AWS_SECRET_ACCESS_KEY": .string("s"),
                "AWS_ROLE_ARN": .string("arn:aws:iam::1:role/stored"),
            ])
        #expect(plan(keys, material: withRole).cacheIdentity == "role:arn:aws:iam::1:role/stored")
        let profileMaterial = CredentialMaterial(
            registry: "r", type: .aws, credentials: ["AWS_PROFILE": .string("team")])
        #expect(plan(keys, material: profileMaterial).cacheIdentity == "profile:team")
        #expect(plan(keys, identity: .init(awsProfile: "rule")).cacheIdentity == "profile:rule")
        #expect(
            plan(keys, identity: .init(awsRoleARN: "arn:aws:iam::1:role/x")).cacheIdentity
                == "role:arn:aws:iam::1:role/x")
        let basic = CredentialMaterial(registry: "r", type: .basic, credentials: ["USERNAME": .string("u")])
        #expect(plan(keys, material: basic).cacheIdentity == "key:AKIDENV", "non-aws material is not ours")
    }
}

internal import Credentials
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// Finds the AWS credentials to sign with, in the default chain's order (botocore's, which the AWS CLI users know):
///
/// 1. stored `material` (type aws) — keys, or `AWS_PROFILE`, plus `AWS_ROLE_ARN` to assume — then the rule's
///    `identity` (profile, role): what the user configured for this registry beats whatever is ambient;
/// 2. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`);
/// 3. `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`) → AssumeRoleWithWebIdentity (IRSA);
/// 4. the shared files' profile — `AWS_PROFILE`, else `default` — with `role_arn` + `source_profile` /
///    `credential_source` / `web_identity_token_file`, static keys, or `credential_process`;
/// 5. container credentials (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`);
/// 6. EC2 instance metadata (IMDSv2), unless `AWS_EC2_METADATA_DISABLED=true`.
///
/// Once a source is *configured*, its failure is the answer (a rejected key is not "no credentials"); only when no
/// source exists does the chain end in `.noSource`, listing what it looked at.
struct AWSCredentialChain: Sendable {
    let http: any HTTPClient
    let environment: OcicredEnvironment
    let now: @Sendable () -> Date
    /// STS calls go to this region's endpoint (the registry's region, or the rule's `awsRegion`).
    let stsRegion: String
    /// The registry host, for `.noSource` messages.
    let host: String
    var metadataProbeTimeout: Duration = .seconds(1)

    /// Where credentials come from, decided without any network call.
    enum Base: Equatable {
        case keys(AWSCredentials, origin: String)
        case profile(String, explicit: Bool)
        case webIdentity(tokenFile: String, roleARN: String, sessionName: String?)
        case container
        case instanceMetadata
        case none
    }

    struct Plan: Equatable {
        var base: Base
        /// A role to assume with the base credentials (`AWS_ROLE_ARN` in material, or the rule's role).
        var roleARN: String?
        /// What was looked at and not found, in order, for `.noSource`.
        var tried: [String]

        /// The token cache key's identity part; never a secret.
        var cacheIdentity: String {
            if let roleARN { return "role:\(roleARN)" }
            switch base {
            case .keys(let credentials, _): return "key:\(credentials.accessKeyID)"
            case .profile(let name, _): return "profile:\(name)"
            case .webIdentity(_, let roleARN, _): return "webidentity:\(roleARN)"
            case .container: return "container"
            case .instanceMetadata: return "imds"
            case .none: return "none"
            }
        }
    }

    // MARK: Planning (no network)

    static func plan(
        material: CredentialMaterial?, identity: ProviderIdentity, environment: OcicredEnvironment,
        config: AWSSharedConfig
    ) -> Plan {
        var roleARN = identity.awsRoleARN
        if let material, material.type == .aws {
            let value = { (key: String) -> String? in
                guard let text = material.credentials[key]?.stringValue, !text.isEmpty else { return nil }
                return text
            }
            if let role = value("AWS_ROLE_ARN") { roleARN = role }
            if let keys = AWSCredentials.fromVariables(value) {
                return Plan(base: .keys(keys, origin: "stored credentials"), roleARN: roleARN, tried: [])
            }
            if let profile = value("AWS_PROFILE") {
                return Plan(base: .profile(profile, explicit: true), roleARN: roleARN, tried: [])
            }
        }
        if let profile = identity.awsProfile {
            return Plan(base: .profile(profile, explicit: true), roleARN: roleARN, tried: [])
        }
        var tried: [String] = []
        if let keys = AWSCredentials.fromVariables({ environment[$0] }) {
            return Plan(base: .keys(keys, origin: "environment"), roleARN: roleARN, tried: tried)
        }
        tried.append("environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)")
        if let tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"], let role = environment["AWS_ROLE_ARN"] {
            let base = Base.webIdentity(
                tokenFile: tokenFile, roleARN: role, sessionName: environment["AWS_ROLE_SESSION_NAME"])
            return Plan(base: base, roleARN: roleARN, tried: tried)
        }
        tried.append("web identity AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (not set)")
        if let profile = environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"] {
            return Plan(base: .profile(profile, explicit: true), roleARN: roleARN, tried: tried)
        }
        if let profile = config.profile("default"), hasCredentials(profile) {
            return Plan(base: .profile("default", explicit: false), roleARN: roleARN, tried: tried)
        }
        tried.append(
            "shared files \(config.configPath) and \(config.credentialsPath) (no credentials in profile default)")
        if ContainerCredentials.isConfigured(environment) {
            return Plan(base: .container, roleARN: roleARN, tried: tried)
        }
        tried.append("container credentials AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI (not set)")
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
            tried.append("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)")
            return Plan(base: .none, roleARN: roleARN, tried: tried)
        }
        return Plan(base: .instanceMetadata, roleARN: roleARN, tried: tried)
    }

    /// Whether a profile names any way to get credentials (a profile holding only `region` does not, and the
    /// chain goes on past it, as the SDKs' shared-file provider does).
    static func hasCredentials(_ profile: AWSSharedConfig.Profile) -> Bool {
        [
            "aws_access_key_id", "role_arn", "credential_process", "web_identity_token_file", "sso_start_url",
            "sso_session",
        ].contains { profile[$0] != nil }
    }

    // MARK: Resolution

    func resolve(material: CredentialMaterial?, identity: ProviderIdentity) async throws(ProviderError)
        -> AWSCredentials
    {
        let config = try AWSSharedConfig.load(environment)
        let plan = Self.plan(material: material, identity: identity, environment: environment, config: config)
        var credentials = try await resolveBase(plan, config: config)
        if let roleARN = plan.roleARN {
            credentials = try await sts().assumeRole(
                .init(roleARN: roleARN, sessionName: defaultSessionName()), with: credentials)
        }
        return credentials
    }

    private func resolveBase(_ plan: Plan, config: AWSSharedConfig) async throws(ProviderError) -> AWSCredentials {
        switch plan.base {
        case .keys(let credentials, _):
            return credentials
        case .profile(let name, _):
            return try await resolveProfile(name, config: config, visited: [])
        case .webIdentity(let tokenFile, let roleARN, let sessionName):
            return try await webIdentity(tokenFile: tokenFile, roleARN: roleARN, sessionName: sessionName)
        case .container:
            return try await ContainerCredentials(http: http, environment: environment).fetch()
        case .instanceMetadata:
            let metadata = InstanceMetadata(http: http, environment: environment, probeTimeout: metadataProbeTimeout)
            switch try await metadata.fetch() {
            case .credentials(let credentials): return credentials
            case .absent(let reason):
                throw .noSource(
                    provider: "aws", host: host, tried: plan.tried + ["EC2 instance metadata: \(reason)"])
            }
        case .none:
            throw .noSource(provider: "aws", host: host, tried: plan.tried)
        }
    }

    /// One profile, following `source_profile` chains. A profile that names itself as `source_profile` uses its
    /// own static keys for the first hop (the SDKs allow this); any other cycle is an error.
    func resolveProfile(_ name: String, config: AWSSharedConfig, visited: [String]) async throws(ProviderError)
        -> AWSCredentials
    {
        guard let profile = config.profile(name) else {
            throw .misconfigured(
                provider: "aws",
                detail: "profile \(name) is in neither \(config.configPath) nor \(config.credentialsPath)")
        }
        let staticKeys = AWSCredentials.fromVariables { key in
            switch key {
            case "AWS_ACCESS_KEY_ID": return profile["aws_access_key_id"]
            case "AWS_SECRET_ACCESS_KEY": return profile["aws_secret_access_key"]
            case "AWS_SESSION_TOKEN": return profile["aws_session_token"]
            default: return nil
            }
        }
        if let roleARN = profile["role_arn"] {
            if profile["mfa_serial"] != nil {
                throw .misconfigured(
                    provider: "aws",
                    detail: "profile \(name) needs an MFA code (mfa_serial), which a credential helper cannot ask "
                        + "for; use credential_process or a role without MFA")
            }
            let input = STSClient.AssumeRoleInput(
                roleARN: roleARN, sessionName: profile["role_session_name"] ?? defaultSessionName(),
                externalID: profile["external_id"], durationSeconds: profile["duration_seconds"].flatMap { Int($0) })
            if let source = profile["source_profile"] {
                let base: AWSCredentials
                if source == name {
                    guard let staticKeys else {
                        throw .misconfigured(
                            provider: "aws", detail: "profile \(name) is its own source_profile but has no keys")
                    }
                    base = staticKeys
                } else if visited.contains(source) {
                    throw .misconfigured(
                        provider: "aws",
                        detail: "source_profile cycle: \((visited + [name, source]).joined(separator: " → "))")
                } else {
                    base = try await resolveProfile(source, config: config, visited: visited + [name])
                }
                return try await sts().assumeRole(input, with: base)
            }
            if let source = profile["credential_source"] {
                let base = try await credentialSource(source, profile: name)
                return try await sts().assumeRole(input, with: base)
            }
            if let tokenFile = profile["web_identity_token_file"] {
                return try await webIdentity(
                    tokenFile: tokenFile, roleARN: roleARN, sessionName: profile["role_session_name"])
            }
            throw .misconfigured(
                provider: "aws",
                detail: "profile \(name) has role_arn but no source_profile, credential_source or "
                    + "web_identity_token_file")
        }
        if let staticKeys { return staticKeys }
        if let command = profile["credential_process"] {
            return try await CredentialProcess(commandLine: command, environment: environment).fetch()
        }
        if profile["sso_start_url"] != nil || profile["sso_session"] != nil {
            throw .misconfigured(
                provider: "aws",
                detail: "profile \(name) uses IAM Identity Center (SSO), which ocicred does not log in to; set "
                    + "credential_process = aws configure export-credentials --profile \(name) in another profile")
        }
        throw .misconfigured(provider: "aws", detail: "profile \(name) has no credentials")
    }

    /// `credential_source` of a role profile: where the source credentials come from instead of a profile.
    private func credentialSource(_ source: String, profile: String) async throws(ProviderError) -> AWSCredentials {
        switch source {
        case "Environment":
            guard let keys = AWSCredentials.fromVariables({ environment[$0] }) else {
                throw .misconfigured(
                    provider: "aws",
                    detail: "profile \(profile) has credential_source = Environment but AWS_ACCESS_KEY_ID is not set")
            }
            return keys
        case "EcsContainer":
            return try await ContainerCredentials(http: http, environment: environment).fetch()
        case "Ec2InstanceMetadata":
            let metadata = InstanceMetadata(http: http, environment: environment, probeTimeout: metadataProbeTimeout)
            switch try await metadata.fetch() {
            case .credentials(let credentials): return credentials
            case .absent(let reason):
                throw .misconfigured(
                    provider: "aws",
                    detail: "profile \(profile) has credential_source = Ec2InstanceMetadata but \(reason)")
            }
        default:
            throw .misconfigured(
                provider: "aws",
                detail: "profile \(profile) has an unknown credential_source \(source) (Environment, "
                    + "Ec2InstanceMetadata or EcsContainer)")
        }
    }

    /// Reads the OIDC token file on every call (kubelet rotates it) and exchanges it at STS.
    func webIdentity(tokenFile: String, roleARN: String, sessionName: String?) async throws(ProviderError)
        -> AWSCredentials
    {
        guard let text = try LocalFile.readText(tokenFile) else {
            throw .misconfigured(provider: "aws", detail: "the web identity token file \(tokenFile) does not exist")
        }
        let token = text.trimmingASCIIWhitespace()
        guard !token.isEmpty else {
            throw .misconfigured(provider: "aws", detail: "the web identity token file \(tokenFile) is empty")
        }
        return try await sts().assumeRoleWithWebIdentity(
            roleARN: roleARN, sessionName: sessionName ?? defaultSessionName(), token: Secret(token))
    }

    func sts() -> STSClient {
        STSClient(http: http, endpoint: AWSEndpoints(environment: environment).sts(region: stsRegion), now: now)
    }

    /// botocore names sessions `botocore-session-<epoch>`; ours say who made them.
    func defaultSessionName() -> String { "ocicred-\(Int(now().timeIntervalSince1970))" }
}

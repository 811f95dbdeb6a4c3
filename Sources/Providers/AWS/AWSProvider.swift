package import Credentials
package import FoundationEssentials
package import Transport

/// Mints ECR registry tokens: finds AWS credentials (see `AWSCredentialChain`), then calls `GetAuthorizationToken`
/// in the registry's region — ECR private for `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`, ECR Public
/// (us-east-1, signing name `ecr-public`) for `public.ecr.aws`. The token is `AWS` + a 12-hour password.
///
/// Unlike ecr-login, which reports every failure as "credentials not found" (its #327), a refused signature or
/// a denied policy comes back as `.rejected` with AWS's own error code and message.
package struct AWSProvider: CredentialProvider {
    package let name = "aws"
    let http: any HTTPClient
    let now: @Sendable () -> Date
    /// The IMDS token request's whole budget (see `InstanceMetadata`): one second, as the SDKs' IMDS client.
    var metadataProbeTimeout: Duration = .seconds(1)

    /// - Parameters:
    ///   - httpClient: the transport (libcurl in the binary, a fixture-pointed client in tests).
    ///   - clock: wall-clock time for SigV4 dates and session names; injected so signatures are reproducible.
    package init(httpClient: any HTTPClient, clock: @escaping @Sendable () -> Date = { Date() }) {
        http = httpClient
        now = clock
    }

    package func cacheIdentity(for request: MintRequest) -> String {
        let config =
            (try? AWSSharedConfig.load(request.environment))
            ?? AWSSharedConfig.merge(config: [:], credentials: [:])
        return AWSCredentialChain.plan(
            material: request.material, identity: request.identity, environment: request.environment, config: config
        ).cacheIdentity
    }

    /// Where ECR and STS are reached and how (the SDKs' endpoint and FIPS settings, the container and instance
    /// metadata addresses, the region STS is called in): a token from one ECR endpoint is not one from another.
    package let mintingEnvironment = [
        "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_ECR_PUBLIC", "AWS_ENDPOINT_URL_STS",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_ROLE_SESSION_NAME",
    ]

    package func mint(_ request: MintRequest) async throws(ProviderError) -> MintedToken {
        let endpoints = AWSEndpoints(environment: request.environment)
        let endpoint: AWSEndpoints.Endpoint
        let registry: ECRClient.Registry
        switch request.kind {
        case .ecrPrivate(_, let region, let fips):
            endpoint = endpoints.ecr(region: region, fips: fips)
            registry = .privateRegistry
        case .ecrPublic:
            endpoint = endpoints.ecrPublic()
            registry = .publicRegistry
        default:
            throw .misconfigured(provider: name, detail: "\(request.host) is not an ECR registry")
        }
        var chain = AWSCredentialChain(
            http: http, environment: request.environment, now: now,
            stsRegion: request.identity.awsRegion ?? endpoint.region, host: request.host)
        chain.metadataProbeTimeout = metadataProbeTimeout
        let credentials: AWSCredentials
        if let podToken = request.serviceAccountToken {
            // Kubelet service-account-token mode: the pod's own token is the web identity, exchanged for the
            // role its service account names (EKS's IRSA contract, without a token file on the node).
            guard let roleARN = request.identity.awsRoleARN else {
                let annotate = request.identityHints[.awsRoleARN].map { "annotate the service account with \($0) or " }
                throw .misconfigured(
                    provider: name,
                    detail:
                        "the kubelet passed a service-account token but no role: \(annotate ?? "")set AWS_ECR_ROLE_ARN")
            }
            credentials = try await chain.sts().assumeRoleWithWebIdentity(
                roleARN: roleARN, sessionName: chain.defaultSessionName(), token: podToken)
        } else {
            credentials = try await chain.resolve(material: request.material, identity: request.identity)
        }
        return try await ECRClient(http: http, now: now)
            .getAuthorizationToken(registry, endpoint: endpoint, credentials: credentials)
    }
}

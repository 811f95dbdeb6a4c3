/// The kubelet credential provider's service-account-token mode (KEP-4412, Kubernetes 1.33+): the kubelet
/// hands over the pulling pod's service-account token, to be exchanged for a registry token as *that* pod's
/// identity (AWS AssumeRoleWithWebIdentity, GCP/Azure workload identity federation) instead of the node's.
extension Resolver {
    /// Resolves `key` as `resolve(_:)` does, except that a provider mint gets `serviceAccountToken` as its
    /// web-identity token and, for AWS, a role: `awsRoleARN` (the service account's
    /// `eks.amazonaws.com/ecr-role-arn` annotation), else the config rule's `roleArn`, else AWS_ECR_ROLE_ARN.
    /// Answers that need no mint (a static rule, the store, auth files) are the same as `resolve(_:)`'s.
    ///
    /// The shared token cache is bypassed: it is keyed by the provider's identity, which a per-pod token does
    /// not determine, so a cached token could belong to another pod's service account. The kubelet caches the
    /// answer itself, per service account, for the `cacheDuration` we return.
    public func resolve(_ key: CredentialKey, serviceAccountToken: Secret, awsRoleARN: String?)
        async throws(CredentialError) -> Credential
    {
        var values = environment.values
        values["OCICRED_CACHE"] = "off"
        let uncached = Resolver(
            environment: OcicredEnvironment(values), providers: Array(providers.values), logger: logger,
            config: try loadConfig())
        switch try uncached.plan(key) {
        case .answer(let credential):
            return credential
        case .mint(let mint):
            var request = mint.request
            request.serviceAccountToken = serviceAccountToken
            if mint.provider.name == "aws" {
                request.identity.awsRoleARN =
                    awsRoleARN ?? request.identity.awsRoleARN ?? environment["AWS_ECR_ROLE_ARN"]
            }
            return try await uncached.execute(
                Mint(provider: mint.provider, request: request, key: mint.key, byHostKind: mint.byHostKind))
        }
    }
}

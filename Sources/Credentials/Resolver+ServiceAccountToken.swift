internal import SystemSupport

/// The kubelet credential provider's service-account-token mode (KEP-4412, Kubernetes 1.33+): the kubelet
/// hands over the pulling pod's service-account token, to be exchanged for a registry token as *that* pod's
/// identity (AWS AssumeRoleWithWebIdentity, GCP workload identity federation, Azure federated credentials)
/// instead of the node's.
extension Resolver {
    /// Resolves `key` as `resolve(_:)` does, except that a provider mint gets `serviceAccountToken` as its
    /// web-identity / federated token and `identity(provider, rule identity)` decides the identity it is exchanged
    /// for (the kubelet plugin puts the pod's service-account annotations in front of the rule); `hints` name where
    /// each field comes from, for the provider's messages. Answers that need no mint (a static rule, the store,
    /// auth files) are the same as `resolve(_:)`'s.
    ///
    /// The shared token cache is bypassed: a per-pod token does not determine the provider's identity, so a
    /// cached token could belong to another pod's service account. The kubelet caches the answer itself, per
    /// service account, for the `cacheDuration` it is given.
    package func resolve(
        _ key: CredentialKey, serviceAccountToken: Secret, hints: [ProviderIdentity.Field: String] = [:],
        identity: @Sendable (_ provider: String, _ rule: ProviderIdentity) -> ProviderIdentity
    ) async throws(CredentialError) -> Credential {
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
            request.identityHints = hints
            request.identity = identity(mint.provider.name, request.identity)
            return try await uncached.execute(
                Mint(provider: mint.provider, request: request, key: mint.key, byHostKind: mint.byHostKind))
        }
    }
}

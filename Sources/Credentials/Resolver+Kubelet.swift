import SystemSupport
/// The kubelet credential provider's service-account-token mode (KEP-4412, Kubernetes 1.33+): the kubelet
/// hands over the pulling pod's service-account token, to be exchanged for a registry token as *that* pod's
/// identity (AWS AssumeRoleWithWebIdentity, GCP workload identity federation, Azure federated credentials)
/// instead of the node's.
extension Resolver {
    /// The service-account annotations that pick the identity a pod's token is exchanged for. The kubelet
    /// passes only the keys its `CredentialProviderConfig` lists under `tokenAttributes`
    /// (`requiredServiceAccountAnnotationKeys` / `optionalServiceAccountAnnotationKeys`).
    public enum ServiceAccountAnnotation {
        /// The role AssumeRoleWithWebIdentity assumes (cloud-provider-aws `ecr-credential-provider`'s key).
        public static let awsECRRole = "eks.amazonaws.com/ecr-role-arn"
        /// The Google service account (email) the federated token impersonates: GKE workload identity's key.
        public static let gcpServiceAccount = "iam.gke.io/gcp-service-account"
        /// The workload identity pool provider whose STS exchange takes the token. GKE has no annotation for it
        /// (its pool is implicit), so the key is ocicred's own.
        public static let gcpWorkloadIdentityProvider = "ocicred.io/gcp-workload-identity-provider"
        /// The Entra ID application (client id) whose federated credential trusts the token: AKS workload
        /// identity's own keys, so a service account annotated for the webhook works unchanged.
        public static let azureClientID = "azure.workload.identity/client-id"
        public static let azureTenantID = "azure.workload.identity/tenant-id"
    }

    /// `resolve(_:serviceAccountToken:serviceAccountAnnotations:)` with only an AWS role annotation.
    public func resolve(_ key: CredentialKey, serviceAccountToken: Secret, awsRoleARN: String?)
        async throws(CredentialError) -> Credential
    {
        try await resolve(
            key, serviceAccountToken: serviceAccountToken,
            serviceAccountAnnotations: awsRoleARN.map { [ServiceAccountAnnotation.awsECRRole: $0] } ?? [:])
    }

    /// Resolves `key` as `resolve(_:)` does, except that a provider mint gets `serviceAccountToken` as its
    /// web-identity / federated token, and the identity it is exchanged for comes from the service account's
    /// annotations first, then the config rule, then the plugin's environment (read by the provider):
    /// - aws: the role, `eks.amazonaws.com/ecr-role-arn`, rule `roleArn`, `AWS_ECR_ROLE_ARN`;
    /// - gcp: the pool provider, `ocicred.io/gcp-workload-identity-provider`,
    ///   `OCICRED_GCP_WORKLOAD_IDENTITY_PROVIDER`, an external_account file; the service account to impersonate,
    ///   `iam.gke.io/gcp-service-account`, rule `impersonate`, `OCICRED_GCP_SERVICE_ACCOUNT`, the file's;
    /// - azure: `azure.workload.identity/client-id` and `/tenant-id`, the rule, `AZURE_CLIENT_ID`/`_TENANT_ID`.
    /// Answers that need no mint (a static rule, the store, auth files) are the same as `resolve(_:)`'s.
    ///
    /// The shared token cache is bypassed: it is keyed by the provider's identity, which a per-pod token does
    /// not determine, so a cached token could belong to another pod's service account. The kubelet caches the
    /// answer itself, per service account, for the `cacheDuration` we return.
    public func resolve(
        _ key: CredentialKey, serviceAccountToken: Secret, serviceAccountAnnotations annotations: [String: String]
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
            request.identity = Self.podIdentity(
                provider: mint.provider.name, rule: request.identity, annotations: annotations,
                environment: environment)
            return try await uncached.execute(
                Mint(provider: mint.provider, request: request, key: mint.key, byHostKind: mint.byHostKind))
        }
    }

    /// The identity a pod's token is exchanged for: each annotation in front of the rule's setting. Empty
    /// annotation values count as absent (a kubelet passes an optional key the service account lacks as "").
    static func podIdentity(
        provider: String, rule: ProviderIdentity, annotations: [String: String], environment: OcicredEnvironment
    ) -> ProviderIdentity {
        func annotation(_ key: String) -> String? {
            guard let value = annotations[key]?.trimmingASCIIWhitespace(), !value.isEmpty else { return nil }
            return value
        }
        var identity = rule
        switch provider {
        case "aws":
            identity.awsRoleARN =
                annotation(ServiceAccountAnnotation.awsECRRole) ?? rule.awsRoleARN ?? environment["AWS_ECR_ROLE_ARN"]
        case "gcp":
            identity.gcpImpersonate = annotation(ServiceAccountAnnotation.gcpServiceAccount) ?? rule.gcpImpersonate
            identity.gcpWorkloadIdentityProvider =
                annotation(ServiceAccountAnnotation.gcpWorkloadIdentityProvider) ?? rule.gcpWorkloadIdentityProvider
        case "azure":
            identity.azureClientID = annotation(ServiceAccountAnnotation.azureClientID) ?? rule.azureClientID
            identity.azureTenantID = annotation(ServiceAccountAnnotation.azureTenantID) ?? rule.azureTenantID
        default:
            break
        }
        return identity
    }
}

package import Credentials
package import SystemSupport

/// The service-account annotations that pick the identity a pod's token is exchanged for in the kubelet's
/// service-account-token mode (KEP-4412, Kubernetes 1.33+). The kubelet passes only the keys its
/// `CredentialProviderConfig` lists under `tokenAttributes` (`requiredServiceAccountAnnotationKeys` /
/// `optionalServiceAccountAnnotationKeys`).
package enum ServiceAccountAnnotation {
    /// The role AssumeRoleWithWebIdentity assumes (cloud-provider-aws `ecr-credential-provider`'s key).
    package static let awsECRRole = "eks.amazonaws.com/ecr-role-arn"
    /// The Google service account (email) the federated token impersonates: GKE workload identity's key.
    package static let gcpServiceAccount = "iam.gke.io/gcp-service-account"
    /// The workload identity pool provider whose STS exchange takes the token. GKE has no annotation for it
    /// (its pool is implicit), so the key is ocicred's own.
    package static let gcpWorkloadIdentityProvider = "ocicred.io/gcp-workload-identity-provider"
    /// The Entra ID application (client id) whose federated credential trusts the token: AKS workload
    /// identity's own keys, so a service account annotated for the webhook works unchanged.
    package static let azureClientID = "azure.workload.identity/client-id"
    package static let azureTenantID = "azure.workload.identity/tenant-id"

    /// Which identity field each annotation sets.
    package static let keys: [ProviderIdentity.Field: String] = [
        .awsRoleARN: awsECRRole, .gcpImpersonate: gcpServiceAccount,
        .gcpWorkloadIdentityProvider: gcpWorkloadIdentityProvider, .azureClientID: azureClientID,
        .azureTenantID: azureTenantID,
    ]

    /// The identity a pod's token is exchanged for: each annotation in front of the rule's setting (and, for the
    /// AWS role, in front of the plugin's AWS_ECR_ROLE_ARN). Empty values count as absent: a kubelet passes an
    /// optional key the service account lacks as "".
    package static func podIdentity(
        provider: String, rule: ProviderIdentity, annotations: [String: String], environment: OcicredEnvironment
    ) -> ProviderIdentity {
        func annotation(_ field: ProviderIdentity.Field) -> String? {
            guard let key = keys[field], let value = annotations[key]?.trimmingASCIIWhitespace(), !value.isEmpty
            else { return nil }
            return value
        }
        var identity = rule
        switch provider {
        case "aws":
            identity.awsRoleARN = annotation(.awsRoleARN) ?? rule.awsRoleARN ?? environment["AWS_ECR_ROLE_ARN"]
        case "gcp":
            identity.gcpImpersonate = annotation(.gcpImpersonate) ?? rule.gcpImpersonate
            identity.gcpWorkloadIdentityProvider =
                annotation(.gcpWorkloadIdentityProvider) ?? rule.gcpWorkloadIdentityProvider
        case "azure":
            identity.azureClientID = annotation(.azureClientID) ?? rule.azureClientID
            identity.azureTenantID = annotation(.azureTenantID) ?? rule.azureTenantID
        default:
            break
        }
        return identity
    }
}

extension Resolver {
    /// `resolve(_:serviceAccountToken:hints:identity:)` with the pod's service-account annotations choosing the
    /// identity, as the kubelet plugin resolves.
    package func resolve(
        _ key: CredentialKey, serviceAccountToken: Secret, serviceAccountAnnotations annotations: [String: String]
    ) async throws(CredentialError) -> Credential {
        let environment = self.environment
        return try await resolve(key, serviceAccountToken: serviceAccountToken, hints: ServiceAccountAnnotation.keys) {
            provider, rule in
            ServiceAccountAnnotation.podIdentity(
                provider: provider, rule: rule, annotations: annotations, environment: environment)
        }
    }
}

internal import Credentials
internal import FoundationEssentials

/// Kubelet service-account-token mode for GCP: the pod's token is the subject token of a Workload Identity
/// Federation exchange (the same `ExternalAccount` flow a credential configuration file describes), so the
/// registry token is minted as the pod's identity, not the node's.
///
/// Where the exchange's settings come from, first that is set wins:
/// - the pool provider (STS `audience`): the service account's `ocicred.io/gcp-workload-identity-provider`
///   annotation, `OCICRED_GCP_WORKLOAD_IDENTITY_PROVIDER`, then the `audience` of an external_account file
///   (the rule's `gcpKeyFile`, else `GOOGLE_APPLICATION_CREDENTIALS`), whose subject-token source is replaced by
///   the pod's token;
/// - the service account to impersonate: the `iam.gke.io/gcp-service-account` annotation, the rule's
///   `impersonate`, `OCICRED_GCP_SERVICE_ACCOUNT`, then the file's `service_account_impersonation_url`; none
///   means the federated token itself is used (direct resource access granted to the pool's principal);
/// - the STS endpoint: the file's `token_url`, else `CLOUDSDK_API_ENDPOINT_OVERRIDES_STS` (gcloud's
///   `api_endpoint_overrides/sts`), else `https://sts.googleapis.com/`.
extension GCPProvider {
    static let workloadIdentityProviderVariable = "OCICRED_GCP_WORKLOAD_IDENTITY_PROVIDER"
    static let serviceAccountVariable = "OCICRED_GCP_SERVICE_ACCOUNT"
    static let stsBaseURLVariable = "CLOUDSDK_API_ENDPOINT_OVERRIDES_STS"
    static let jwtTokenType = "urn:ietf:params:oauth:token-type:jwt"
    /// The prefix of a full workload identity pool provider resource name.
    static let iamResourcePrefix = "//iam.googleapis.com/"
    /// Names the pod's token in messages; the token itself never appears.
    static let podTokenOrigin = "the kubelet request's service-account token"

    /// The federation `podToken` goes through, or `.misconfigured` saying what to annotate or set.
    func podFederation(_ request: MintRequest, podToken: Secret) throws(ProviderError) -> ExternalAccount {
        let environment = request.environment
        let file = try externalAccountFile(request)
        let configured =
            request.identity.gcpWorkloadIdentityProvider
            ?? environment[Self.workloadIdentityProviderVariable]
        guard let audience = try configured.map(Self.workloadIdentityAudience) ?? file?.account?.audience else {
            let annotate =
                request.identityHints[.gcpWorkloadIdentityProvider].map {
                    "annotate the service account with \($0) "
                        + "(//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL/providers/PROV), "
                } ?? ""
            var detail =
                "the kubelet passed a service-account token but no workload identity provider is known: " + annotate
                + "set \(Self.workloadIdentityProviderVariable) for the plugin, or point GOOGLE_APPLICATION_CREDENTIALS "
                + "at an external_account configuration"
            if let note = file?.note { detail += " (\(note))" }
            throw .misconfigured(provider: name, detail: detail)
        }
        let serviceAccount = request.identity.gcpImpersonate ?? environment[Self.serviceAccountVariable]
        let impersonationURL =
            serviceAccount.map { IAMCredentials.url(for: $0, environment: environment) }
            ?? file?.account?.impersonationURL
        let tokenURL: String
        if let explicit = file?.tokenURL {
            tokenURL = explicit
        } else {
            var base = environment[Self.stsBaseURLVariable] ?? "https://sts.googleapis.com/"
            if !base.hasSuffix("/") { base += "/" }
            tokenURL = base + "v1/token"
        }
        return ExternalAccount(
            audience: audience, subjectTokenType: file?.account?.subjectTokenType ?? Self.jwtTokenType,
            tokenURL: tokenURL, subjectSource: .given(podToken, origin: Self.podTokenOrigin),
            impersonationURL: impersonationURL,
            impersonationLifetime: serviceAccount == nil ? file?.account?.impersonationLifetime : nil,
            clientID: file?.account?.clientID, clientSecret: file?.account?.clientSecret,
            workforcePoolUserProject: file?.account?.workforcePoolUserProject)
    }

    /// Who a pod's token mints as: the pool provider, the impersonated account, and the token's `sub` (the
    /// Kubernetes service account), so two pods never share an entry even when the rest is the same. No secret.
    func podCacheIdentity(_ request: MintRequest, podToken: Secret) -> String {
        guard let account = try? podFederation(request, podToken: podToken) else { return "pod-wif:unresolved" }
        let target = account.impersonationURL.flatMap(IAMCredentials.serviceAccount(inURL:)).map { ">" + $0 } ?? ""
        let subject = TokenLifetime.jwtClaims(podToken.exposedValue)?["sub"]?.stringValue ?? "unknown"
        return "pod-wif:" + account.audience + target + "#" + subject
    }

    /// The credential configuration named by the rule's `gcpKeyFile` or GOOGLE_APPLICATION_CREDENTIALS, when there
    /// is one. Only an external_account document supplies settings; any other (the node's own key, say) is not an
    /// error here, merely noted for the message in case nothing else names a pool provider. Its
    /// `credential_source` may be left out: the pod's token replaces it anyway.
    private func externalAccountFile(_ request: MintRequest) throws(ProviderError)
        -> (account: ExternalAccount?, tokenURL: String?, note: String?)?
    {
        guard let path = request.identity.gcpKeyFile ?? request.environment["GOOGLE_APPLICATION_CREDENTIALS"] else {
            return nil
        }
        guard
            var document = try ProviderFile.readJSONObject(path, provider: name, what: "the credential configuration")
        else { return (nil, nil, "\(path) does not exist") }
        let type = document["type"]?.stringValue
        guard type == "external_account" || (type == nil && document["subject_token_type"] != nil) else {
            return (nil, nil, "\(path) is not an external_account configuration")
        }
        if document["credential_source"] == nil {
            document["credential_source"] = .object(["file": .string(Self.podTokenOrigin)])
        }
        return (try ExternalAccount(document, origin: path), document["token_url"]?.stringValue, nil)
    }

    /// A pool provider's full resource name, accepting the `projects/…` form the console and gcloud print.
    static func workloadIdentityAudience(_ value: String) throws(ProviderError) -> String {
        let name = value.hasPrefix("projects/") ? iamResourcePrefix + value : value
        guard name.hasPrefix(iamResourcePrefix), name.contains("/providers/") else {
            throw .misconfigured(
                provider: "gcp",
                detail: "\"\(value)\" is not a workload identity pool provider; expected "
                    + "//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/POOL/providers/PROV")
        }
        return name
    }
}

extension ExternalAccount {
    init(
        audience: String, subjectTokenType: String, tokenURL: String, subjectSource: SubjectSource,
        impersonationURL: String?, impersonationLifetime: Int?, clientID: String?, clientSecret: Secret?,
        workforcePoolUserProject: String?
    ) {
        self.audience = audience
        self.subjectTokenType = subjectTokenType
        self.tokenURL = tokenURL
        self.subjectSource = subjectSource
        self.impersonationURL = impersonationURL
        self.impersonationLifetime = impersonationLifetime
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.workforcePoolUserProject = workforcePoolUserProject
    }
}

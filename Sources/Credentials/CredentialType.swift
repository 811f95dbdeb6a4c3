/// What kind of long-lived credential material is held, which decides how a registry credential is made from
/// it: handed out as is (basic, token, ngc, github, dockerhub) or minted by a cloud provider (aws, gcp, azure).
package enum CredentialType: String, Sendable, Hashable, CaseIterable, Codable {
    case basic
    /// An identity (refresh) token, which docker stores with the username `<token>`.
    case token
    case aws
    case gcp
    case azure
    case ngc
    case github
    case dockerhub

    /// Detection from the keys present, in the order DESIGN.md gives: a key that only one provider uses
    /// settles it. nil when the keys say nothing and the host must decide.
    static func detect(fromKeys keys: Set<String>) -> CredentialType? {
        if keys.contains("AWS_ACCESS_KEY_ID") || keys.contains("AWS_ROLE_ARN") { return .aws }
        if keys.contains("GCP_ACCESS_TOKEN") || keys.contains("GCP_SERVICE_ACCOUNT_KEY")
            || (keys.contains("private_key") && keys.contains("client_email"))
            || keys.contains("refresh_token") && keys.contains("client_id") && keys.contains("client_secret")
            || keys.contains("subject_token_type")
        {
            return .gcp
        }
        if keys.contains("AZURE_CLIENT_ID") { return .azure }
        if keys.contains("NGC_API_KEY") { return .ngc }
        if keys.contains("GITHUB_TOKEN") { return .github }
        if keys.contains("DOCKERHUB_USERNAME") || keys.contains("DOCKERHUB_TOKEN") { return .dockerhub }
        if keys.contains("IDENTITY_TOKEN") { return .token }
        if keys.contains("USERNAME") || keys.contains("PASSWORD") { return .basic }
        return nil
    }

    /// The fallback when the keys do not decide: what the registry host implies.
    static func `default`(for kind: HostKind) -> CredentialType {
        switch kind {
        case .ecrPrivate, .ecrPublic: return .aws
        case .gcr, .artifactRegistry: return .gcp
        case .acr: return .azure
        case .ngc: return .ngc
        case .ghcr: return .github
        case .dockerHub: return .dockerhub
        case .generic: return .basic
        }
    }

    /// Whether a registry credential has to be minted from this material by a cloud provider.
    package var needsProvider: Bool {
        switch self {
        case .aws, .gcp, .azure: return true
        case .basic, .token, .ngc, .github, .dockerhub: return false
        }
    }
}

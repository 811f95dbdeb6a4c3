internal import Credentials
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// The GCE/GKE/Cloud Run metadata server's token for the attached service account
/// (https://cloud.google.com/compute/docs/metadata/querying-metadata). `GCE_METADATA_HOST` (host[:port]) moves
/// it, as in google-auth and the Cloud SDKs. The connect timeout is one second: off Google Cloud,
/// metadata.google.internal does not resolve or does not answer, and a credential helper must say so at once
/// (ecr-login's #137 is the cost of not doing this).
struct GCPMetadataServer: Sendable {
    static let defaultHost = "metadata.google.internal"
    static let tokenPath = "/computeMetadata/v1/instance/service-accounts/default/token"

    var host: String
    /// The header without which the server answers 403 (its SSRF guard). Only tests leave it out, to check that
    /// the refusal is reported as such.
    var flavorHeader: (name: String, value: String)? = ("Metadata-Flavor", "Google")

    init(environment: OcicredEnvironment) {
        host = environment["GCE_METADATA_HOST"] ?? Self.defaultHost
    }

    init(host: String) { self.host = host }

    var tokenURL: String { "http://" + host + Self.tokenPath }

    /// The token, or `.unreachable` when nothing answers (the caller turns that into "no source"), or
    /// `.rejected` with what the server said.
    func fetchToken(_ oauth: OAuth2, now: Date) async throws(ProviderError) -> OAuth2.AccessToken {
        let request = HTTPRequest(
            url: tokenURL, headers: flavorHeader.map { [$0] } ?? [], timeout: .seconds(10),
            connectTimeout: .seconds(1), maxResponseBytes: 64 << 10)
        let answer = try oauth.json(await oauth.send(request), url: tokenURL)
        return try oauth.accessToken(answer, url: tokenURL, now: now)
    }
}

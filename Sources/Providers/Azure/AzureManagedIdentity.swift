internal import Credentials
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// A managed identity's token for the registry resource. Two endpoints, chosen as azure-identity chooses:
/// - App Service, Functions and Container Apps set `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`
///   (api-version 2019-08-01, the header value as `X-IDENTITY-HEADER`);
/// - otherwise IMDS at 169.254.169.254 (or `AZURE_POD_IDENTITY_AUTHORITY_HOST`, which aad-pod-identity and the
///   SDKs use to move it), api-version 2018-02-01, header `Metadata: true`.
/// Connect timeout one second: off Azure nothing answers there, and the helper must fail fast.
struct AzureManagedIdentity: Sendable {
    static let resource = "https://containerregistry.azure.net"
    static let defaultIMDSHost = "http://169.254.169.254"

    enum Endpoint: Sendable {
        case imds(base: String)
        case appService(url: String, header: Secret)
    }

    var endpoint: Endpoint

    init(environment: OcicredEnvironment) {
        if let url = environment["IDENTITY_ENDPOINT"], let header = environment["IDENTITY_HEADER"] {
            endpoint = .appService(url: url, header: Secret(header))
        } else {
            var base = environment["AZURE_POD_IDENTITY_AUTHORITY_HOST"] ?? Self.defaultIMDSHost
            while base.hasSuffix("/") { base.removeLast() }
            endpoint = .imds(base: base)
        }
    }

    /// Where the request goes, without its query; names the endpoint in "no source" lists.
    var name: String {
        switch endpoint {
        case .imds(let base): return base + "/metadata/identity/oauth2/token"
        case .appService(let url, _): return OAuth2.endpointName(url)
        }
    }

    func token(clientID: String?, _ oauth: OAuth2, now: Date) async throws(ProviderError) -> OAuth2.AccessToken {
        var query = [("resource", Self.resource)]
        if let clientID { query.append(("client_id", clientID)) }
        let request: HTTPRequest
        switch endpoint {
        case .imds(let base):
            let url =
                base + "/metadata/identity/oauth2/token?"
                + PercentEncoding.form([("api-version", "2018-02-01")] + query)
            request = HTTPRequest(
                url: url, headers: [("Metadata", "true")], timeout: .seconds(10), connectTimeout: .seconds(1),
                maxResponseBytes: 64 << 10)
        case .appService(let base, let header):
            let separator = base.contains("?") ? "&" : "?"
            let url = base + separator + PercentEncoding.form([("api-version", "2019-08-01")] + query)
            request = HTTPRequest(
                url: url, headers: [("X-IDENTITY-HEADER", header.exposedValue)], timeout: .seconds(10),
                connectTimeout: .seconds(1), maxResponseBytes: 64 << 10)
        }
        let answer = try oauth.json(await oauth.send(request), url: request.url)
        return try oauth.accessToken(answer, url: request.url, now: now)
    }
}

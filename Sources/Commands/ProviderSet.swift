import Credentials
import Providers
import Transport
import SystemSupport

/// The providers a command wires into the resolver. Building them is cheap (the HTTP client loads libcurl
/// only on its first request), so the cached `get` path pays nothing for them.
enum ProviderSet {
    static func standard(environment: OcicredEnvironment) -> [any CredentialProvider] {
        let http = CurlHTTPClient(configuration: .fromEnvironment(environment.values))
        return [AWSProvider(httpClient: http), GCPProvider(httpClient: http), AzureProvider(httpClient: http)]
    }
}

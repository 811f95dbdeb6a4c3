package import Credentials
package import Logging
package import SystemSupport
internal import Transport

extension Resolver {
    /// The resolver every entry point uses — the helper's `get`, `authfile`, `verify`, `login`, `kubelet`, the
    /// mount — wired with the real providers, so they can never disagree about which credentials a registry
    /// gets. Building the providers is cheap (the HTTP client loads libcurl only on its first request), so the
    /// cached `get` path pays nothing for them.
    package static func standard(environment: OcicredEnvironment = .current, logger: Logger) -> Resolver {
        Resolver(environment: environment, providers: standardProviders(environment: environment), logger: logger)
    }

    /// AWS, GCP and Azure over one HTTP client configured from the environment.
    package static func standardProviders(environment: OcicredEnvironment) -> [any CredentialProvider] {
        let http = CurlHTTPClient(configuration: .fromEnvironment(environment.values))
        return [AWSProvider(httpClient: http), GCPProvider(httpClient: http), AzureProvider(httpClient: http)]
    }
}

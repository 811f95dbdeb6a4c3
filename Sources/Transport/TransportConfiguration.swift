/// Process-wide transport settings, read once from the environment by the command that builds the client and then
/// passed in as a value, so tests set them without touching global state.
///
/// Proxies are not here on purpose: libcurl reads `http_proxy`, `https_proxy`, `all_proxy` and `no_proxy` (and
/// their upper-case forms, except `HTTP_PROXY`, which curl ignores because CGI servers set it from a request
/// header) with getenv(), i.e. from the *process* environment, on every request. That is the behaviour every
/// other container tool has, so a proxy set for podman works for ocicred unchanged.
package struct TransportConfiguration: Sendable, Equatable {
    /// A PEM bundle trusted in addition to the system store (`OCICRED_CA_FILE`): a private registry's CA, or a
    /// TLS-intercepting proxy's.
    package var caFile: String?
    /// The system's hashed CA directory, kept trusted when `caFile` replaces curl's default bundle file. Not set
    /// when it does not exist (a minimal image), so OpenSSL does not fail on a missing path.
    package var systemCAPath: String
    /// The shared object loaded on the first request; a test points it at a missing file to check the error.
    package var libraryPath: String
    package var userAgent: String

    package init(
        caFile: String? = nil, systemCAPath: String = "/etc/ssl/certs", libraryPath: String = "libcurl.so.4",
        userAgent: String = "ocicred"
    ) {
        self.caFile = caFile
        self.systemCAPath = systemCAPath
        self.libraryPath = libraryPath
        self.userAgent = userAgent
    }

    /// The configuration `env` asks for: `OCICRED_CA_FILE` (ignored when empty). Pass
    /// `ProcessInfo.processInfo.environment` from the command; tests pass a literal dictionary.
    package static func fromEnvironment(_ env: [String: String]) -> TransportConfiguration {
        var configuration = TransportConfiguration()
        if let caFile = env["OCICRED_CA_FILE"], !caFile.isEmpty { configuration.caFile = caFile }
        return configuration
    }
}

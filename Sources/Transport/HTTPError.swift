/// Transport failures, told apart because the user's next step differs: start the registry, fix DNS, trust a
/// CA, raise a timeout. Messages never contain request headers or bodies (they may hold secrets).
public enum HTTPError: Error, Equatable, CustomStringConvertible {
    case invalidURL(String)
    case unreachable(host: String, reason: String)
    case timedOut(host: String, seconds: Double)
    case tls(host: String, reason: String)
    case tooLarge(host: String, limit: Int)
    case tooManyRedirects(host: String)
    case insecureRedirect(from: String, to: String)
    case libraryUnavailable(reason: String)
    /// The calling task was cancelled; the transfer was aborted.
    case cancelled(host: String)
    case other(host: String, reason: String)

    public var description: String {
        switch self {
        case .invalidURL(let detail): return "invalid URL: \(detail)"
        case .unreachable(let host, let reason): return "cannot reach \(host): \(reason)"
        case .timedOut(let host, let seconds): return "\(host) did not answer within \(seconds) s"
        case .tls(let host, let reason):
            return "TLS with \(host) failed: \(reason); trust its CA with OCICRED_CA_FILE or certs.d, or name it "
                + "an insecure registry"
        case .tooLarge(let host, let limit): return "response from \(host) is larger than \(limit) bytes"
        case .tooManyRedirects(let host): return "too many redirects from \(host)"
        case .insecureRedirect(let from, let to): return "refusing redirect from \(from) to plain-HTTP \(to)"
        case .libraryUnavailable(let reason): return "libcurl is not available: \(reason); install libcurl4"
        case .cancelled(let host): return "request to \(host) was cancelled"
        case .other(let host, let reason): return "request to \(host) failed: \(reason)"
        }
    }
}

internal import SystemSupport

/// Transport failures, told apart because the user's next step differs: start the registry, fix DNS, trust a
/// CA, raise a timeout. Messages never contain request headers or bodies (they may hold secrets).
package enum HTTPError: Error, Equatable, CustomStringConvertible {
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
    /// The server answered with something that is not HTTP (another protocol on that port, HTTP/0.9).
    case notHTTP(host: String)
    case other(host: String, reason: String)

    package var description: String {
        switch self {
        case .invalidURL(let detail): return "invalid URL: \(detail)"
        case .unreachable(let host, let reason): return "cannot reach \(host): \(reason)"
        case .timedOut(let host, let seconds): return "\(host) did not answer within \(DurationText.format(seconds))"
        case .tls(let host, let reason):
            return "TLS with \(host) failed: \(reason); trust its CA with OCICRED_CA_FILE or certs.d, or name it "
                + "an insecure registry"
        case .tooLarge(let host, let limit): return "response from \(host) is larger than \(limit) bytes"
        case .tooManyRedirects(let host): return "too many redirects from \(host)"
        case .insecureRedirect(let from, let to): return "refusing redirect from \(from) to plain-HTTP \(to)"
        case .libraryUnavailable(let reason): return "libcurl is not available: \(reason); install libcurl4"
        case .cancelled(let host): return "request to \(host) was cancelled"
        case .notHTTP(let host): return "\(host) answered with something that is not HTTP; is that the right port?"
        case .other(let host, let reason): return "request to \(host) failed: \(reason)"
        }
    }

    /// What happened, without the host: for callers whose own message already names the endpoint, so a
    /// message never reads "cannot reach X: cannot reach X: …".
    package var detail: String {
        switch self {
        case .unreachable(_, let reason): return reason
        case .timedOut(_, let seconds): return "no answer within \(DurationText.format(seconds))"
        case .tls(_, let reason): return "TLS failed: \(reason)"
        case .notHTTP: return "the answer is not HTTP"
        case .other(_, let reason): return reason
        default: return description
        }
    }
}

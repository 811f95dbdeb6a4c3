internal import CCurl

/// The one seam where a CURLcode becomes an `HTTPError`. `detail` is curl's error buffer, used only for
/// connection and TLS failures, whose text names the address and the certificate problem; every other failure
/// gets curl's fixed text for its code, so no message can carry response data. Neither ever holds request
/// headers or bodies.
extension HTTPError {
    struct CurlFailure {
        var code: CURLcode
        var detail: String
        var genericText: String
        /// `host[:port]` of the hop that failed.
        var host: String
        var redactedURL: String
        var reachedServer: Bool
        var exceededLimit: Bool
        var cancelled: Bool
        var limit: Int
        var timeout: Duration
        var connectTimeout: Duration
    }

    init(_ failure: CurlFailure) {
        switch failure.code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            self = .unreachable(host: failure.host, reason: failure.detail)
        case CURLE_OPERATION_TIMEDOUT:
            // Before the request went out it was the connect timeout that expired, else the whole-exchange one.
            let limit = failure.reachedServer ? failure.timeout : min(failure.connectTimeout, failure.timeout)
            self = .timedOut(host: failure.host, seconds: Self.seconds(limit))
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_CLIENTCERT,
            CURLE_USE_SSL_FAILED:
            self = .tls(host: failure.host, reason: failure.detail)
        case CURLE_FILESIZE_EXCEEDED:
            self = .tooLarge(host: failure.host, limit: failure.limit)
        case CURLE_WRITE_ERROR where failure.exceededLimit:
            self = .tooLarge(host: failure.host, limit: failure.limit)
        case CURLE_ABORTED_BY_CALLBACK where failure.cancelled:
            self = .cancelled(host: failure.host)
        case CURLE_UNSUPPORTED_PROTOCOL where failure.reachedServer, CURLE_WEIRD_SERVER_REPLY:
            // curl says "unsupported protocol" for an HTTP/0.9 (or any non-HTTP) answer, not only for a bad URL.
            self = .notHTTP(host: failure.host)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_LOGIN_DENIED:
            self = .invalidURL(failure.redactedURL)
        default:
            self = .other(host: failure.host, reason: failure.genericText)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

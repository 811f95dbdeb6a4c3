internal import SystemSupport

/// What the transport does with a 3xx, decided here rather than by curl (CURLOPT_FOLLOWLOCATION stays off) so
/// that the rules are ours, written down and tested:
///
/// - at most `maximumRedirects` hops, then `.tooManyRedirects`;
/// - 301, 302 turn POST into GET, 303 turns anything but HEAD into GET, each without the body (RFC 9110 §15.4,
///   as browsers and curl do); 307 and 308 keep method and body;
/// - a relative `Location` is resolved against the URL that returned it;
/// - leaving the origin (scheme, host or port changes) drops `Authorization`, `Proxy-Authorization`, `Cookie` and
///   every header the caller listed in `sensitiveHeaders` — a registry token must not reach the S3/CDN blob URL
///   the registry redirects to (the CVE-2018-1000007 class of bug) — and they stay dropped for later hops;
/// - leaving the origin also drops the origin's TLS exceptions: `--tls-verify=false` and a `certs.d` CA were
///   given for the registry, not for the S3 bucket or CDN it sends the client to, so the next hop verifies
///   against the system store (and `OCICRED_CA_FILE`, which the user trusts for every host);
/// - https → http is refused (`.insecureRedirect`): it would hand the rest of the exchange to anyone on the path.
enum RedirectPolicy {
    static let maximumRedirects = 10
    static let followedStatuses: Set<Int> = [301, 302, 303, 307, 308]
    /// Removed on every cross-origin hop whether or not the caller listed them.
    static let alwaysSensitive: Set<String> = ["authorization", "proxy-authorization", "cookie"]
    /// Describe the dropped body; they would be wrong for the GET that replaces it.
    static let bodyHeaders: Set<String> = ["content-type", "content-length", "content-encoding", "transfer-encoding"]

    /// The request to send after `request` got `status` with `location`, or nil when the response is final (not a
    /// followed status, or no `Location`).
    static func nextRequest(after request: HTTPRequest, status: Int, location: String?) throws(HTTPError)
        -> HTTPRequest?
    {
        guard followedStatuses.contains(status), let location, !location.isEmpty else { return nil }
        let current = try HTTPURL.forTransport(request.url)
        let target = try current.resolvingForTransport(location)
        if current.scheme == "https" && target.scheme == "http" {
            throw .insecureRedirect(from: current.redacted, to: target.redacted)
        }
        var next = request
        next.url = target.string
        let method = request.method.uppercased()
        if (status == 303 && method != "HEAD") || ((status == 301 || status == 302) && method == "POST") {
            next.method = "GET"
            next.body = []
            next.headers.removeAll { bodyHeaders.contains($0.name.lowercased()) }
        }
        if !current.isSameOrigin(as: target) {
            let dropped = alwaysSensitive.union(request.sensitiveHeaders.map { $0.lowercased() })
            next.headers.removeAll { dropped.contains($0.name.lowercased()) }
            next.verifyTLS = true
            next.caFile = nil
            next.caCertificates = nil
        }
        return next
    }
}

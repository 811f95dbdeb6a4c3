import FoundationEssentials

/// An http(s) URL as the transport checks it: the parts that decide an origin (scheme, host, port) and a form
/// that is safe to put in an error message.
struct RequestURL: Equatable, Sendable {
    /// The URL as it is sent.
    let string: String
    /// `http` or `https`, lower-cased.
    let scheme: String
    /// Lower-cased, without the brackets of an IPv6 literal.
    let host: String
    /// The explicit port, or the scheme's default.
    let port: Int
    let hasExplicitPort: Bool
    let path: String

    /// Parses `string`; anything but an absolute http(s) URL with a host is `.invalidURL`. A URL that carries a
    /// user name or password is refused too: curl would send it as Basic auth behind our back, and it would end
    /// up in messages.
    init(_ string: String) throws(HTTPError) {
        guard let url = URL(string: string) else { throw .invalidURL(Self.redact(string)) }
        try self.init(url, original: string)
    }

    private init(_ url: URL, original: String) throws(HTTPError) {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            var host = url.host, !host.isEmpty
        else { throw .invalidURL(Self.redact(original)) }
        guard url.user == nil, url.password == nil else {
            throw .invalidURL(Self.redact(original) + " (credentials in URLs are not accepted)")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.string = url.absoluteString
        self.scheme = scheme
        self.host = host.lowercased()
        self.hasExplicitPort = url.port != nil
        self.port = url.port ?? (scheme == "https" ? 443 : 80)
        self.path = url.path
    }

    /// `location` (a redirect's `Location`, absolute or relative) resolved against this URL (RFC 3986 §5).
    func resolving(_ location: String) throws(HTTPError) -> RequestURL {
        guard let base = URL(string: string), let target = URL(string: location, relativeTo: base)?.absoluteURL
        else { throw .invalidURL(Self.redact(location)) }
        return try RequestURL(target, original: location)
    }

    /// Same scheme, host and port: RFC 6454 origin, the boundary credentials may not cross on a redirect.
    func isSameOrigin(as other: RequestURL) -> Bool {
        scheme == other.scheme && host == other.host && port == other.port
    }

    /// `host[:port]`, the name a user knows the server by; used in every error.
    var authority: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return hasExplicitPort ? "\(name):\(port)" : name
    }

    /// Scheme, authority and path, without query or fragment: a presigned blob URL carries its signature in the
    /// query, and messages must not hold secrets.
    var redacted: String { "\(scheme)://\(authority)\(path)" }

    /// A best-effort message form of a string that did not parse: up to the first `?` or `#`, user info removed.
    static func redact(_ string: String) -> String {
        var text = Substring(string)
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = text[..<cut] }
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { return String(text) }
        let authorityStart = text.index(colon, offsetBy: 3)
        let authorityEnd = text[authorityStart...].firstIndex(of: "/") ?? text.endIndex
        guard let at = text[authorityStart..<authorityEnd].lastIndex(of: "@") else { return String(text) }
        return String(text[..<authorityStart] + text[text.index(after: at)...])
    }
}

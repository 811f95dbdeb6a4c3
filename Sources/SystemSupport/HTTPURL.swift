/// An absolute http(s) URL as every part of ocicred checks one: the transport and its redirects, the registry
/// client's origin rule for credentials, token realms and upload locations, AWS signing and endpoint checks.
/// One parser, no Foundation (it is on the credential helper's start-up path), so an origin or a loopback host
/// means the same thing everywhere.
///
/// The path and query are kept as written: SigV4 signs them byte for byte, and a message never shows the query.
package struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    /// `http` or `https`, lower-cased.
    package let scheme: String
    /// Lower-cased, without the brackets of an IPv6 literal.
    package let host: String
    /// The explicit port, or the scheme's default.
    package let port: Int
    package let hasExplicitPort: Bool
    /// As written, "/" when empty.
    package let path: String
    /// As written, without the `?`; empty when there is none.
    package let query: String

    package enum Invalid: Error, Equatable, CustomStringConvertible {
        case notHTTP(String)
        case noHost(String)
        case badPort(String)
        /// `user:password@host`: curl would send it as Basic auth behind our back, and it would end up in messages.
        case credentialsInURL(String)

        package var description: String {
            switch self {
            case .notHTTP(let text): return "\(text) is not an http(s) URL"
            case .noHost(let text): return "\(text) has no host"
            case .badPort(let text): return "\(text) has an invalid port"
            case .credentialsInURL(let text): return "\(text): credentials in URLs are not accepted"
            }
        }
    }

    package init(_ text: String) throws(Invalid) {
        let shown = Self.redact(text)
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { throw .notHTTP(shown) }
        let scheme = text[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { throw .notHTTP(shown) }
        var rest = text[text.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let tail = rest[authorityEnd...]
        guard !authority.contains("@") else { throw .credentialsInURL(shown) }
        var host: Substring
        var port: Int?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .noHost(shown) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else { throw .badPort(shown) }
                port = number
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            let digits = authority[authority.index(after: colon)...]
            if !digits.isEmpty {
                guard let number = Int(digits) else { throw .badPort(shown) }
                port = number
            }
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw .noHost(shown) }
        if let port, !(0...65535).contains(port) { throw .badPort(shown) }
        self.scheme = scheme
        self.host = host.lowercased()
        self.hasExplicitPort = port != nil
        self.port = port ?? (scheme == "https" ? 443 : 80)
        if let question = tail.firstIndex(of: "?") {
            let path = tail[..<question]
            self.path = path.isEmpty ? "/" : String(path)
            self.query = String(tail[tail.index(after: question)...])
        } else {
            self.path = tail.isEmpty ? "/" : String(tail)
            self.query = ""
        }
    }

    /// `host[:port]`, the name a user knows the server by (the port only when written); used in every error.
    package var authority: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return hasExplicitPort ? "\(name):\(port)" : name
    }

    /// The `Host` header an HTTP client sends: the port only when it is not the scheme's default (RFC 9110 §7.2).
    package var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (scheme == "https" ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// The URL to send, without a fragment.
    package var string: String { "\(scheme)://\(authority)\(path)" + (query.isEmpty ? "" : "?\(query)") }
    package var description: String { redacted }

    /// Scheme, authority and path, without query or fragment: a presigned blob URL carries its signature in the
    /// query, and messages must not hold secrets.
    package var redacted: String { "\(scheme)://\(authority)\(path)" }

    /// Same scheme, host and port: RFC 6454 origin, the boundary credentials and TLS exceptions may not cross.
    package func isSameOrigin(as other: HTTPURL) -> Bool {
        scheme == other.scheme && host == other.host && port == other.port
    }

    /// Whether the host is this machine (`LoopbackHost`).
    package var isLoopback: Bool { LoopbackHost.isLoopback(host.contains(":") ? "[\(host)]" : host) }

    /// `reference` (a redirect's `Location`, an upload session's, absolute or relative) resolved against this URL
    /// (RFC 3986 §5.2).
    package func resolving(_ reference: String) throws(Invalid) -> HTTPURL {
        var reference = Substring(reference)
        if let hash = reference.firstIndex(of: "#") { reference = reference[..<hash] }
        if let colon = reference.firstIndex(of: ":"),
            reference[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }),
            reference[..<colon].first?.isLetter == true
        {
            return try HTTPURL(String(reference))
        }
        if reference.hasPrefix("//") { return try HTTPURL(scheme + ":" + reference) }
        let base = "\(scheme)://\(authority)"
        if reference.isEmpty { return try HTTPURL(string) }
        if reference.hasPrefix("?") { return try HTTPURL(base + path + reference) }
        let (referencePath, referenceQuery) = Self.splitQuery(reference)
        let merged: String
        if referencePath.hasPrefix("/") {
            merged = String(referencePath)
        } else if referencePath.isEmpty {
            merged = path
        } else {
            let directory = path.lastIndex(of: "/").map { path[...$0] } ?? "/"
            merged = String(directory + referencePath)
        }
        let query =
            referenceQuery.map { "?" + $0 } ?? (referencePath.isEmpty && !self.query.isEmpty ? "?" + self.query : "")
        return try HTTPURL(base + Self.removingDotSegments(merged) + query)
    }

    /// A best-effort message form of text that did not parse: up to the first `?` or `#`, user info removed.
    package static func redact(_ text: String) -> String {
        var shown = Substring(text)
        if let cut = shown.firstIndex(where: { $0 == "?" || $0 == "#" }) { shown = shown[..<cut] }
        guard let colon = shown.firstIndex(of: ":"), shown[colon...].hasPrefix("://") else { return String(shown) }
        let authorityStart = shown.index(colon, offsetBy: 3)
        let authorityEnd = shown[authorityStart...].firstIndex(of: "/") ?? shown.endIndex
        guard let at = shown[authorityStart..<authorityEnd].lastIndex(of: "@") else { return String(shown) }
        return String(shown[..<authorityStart] + shown[shown.index(after: at)...])
    }

    private static func splitQuery(_ reference: Substring) -> (Substring, Substring?) {
        guard let question = reference.firstIndex(of: "?") else { return (reference, nil) }
        return (reference[..<question], reference[reference.index(after: question)...])
    }

    /// RFC 3986 §5.2.4.
    static func removingDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in segments.enumerated() {
            let last = index == segments.count - 1
            switch segment {
            case ".": if last { output.append("") }
            case "..":
                if !output.isEmpty { output.removeLast() }
                if last { output.append("") }
            default: output.append(segment)
            }
        }
        return "/" + output.joined(separator: "/")
    }
}

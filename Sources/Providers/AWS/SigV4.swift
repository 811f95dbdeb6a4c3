internal import Credentials
internal import Crypto
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
/// canonical request → string to sign → HMAC chain from the secret → `Authorization` header. Pure over its inputs
/// (the time is a parameter), so AWS's published test suite checks it byte for byte.
struct SigV4: Sendable {
    static let algorithm = "AWS4-HMAC-SHA256"

    let credentials: AWSCredentials
    let region: String
    /// The signing name: `ecr`, `ecr-public`, `sts` (not always the endpoint's first label).
    let service: String

    /// Every intermediate value, so tests compare each step with the suite's `.creq`, `.sts` and `.authz` files.
    struct Signature: Equatable {
        var canonicalRequest: String
        var stringToSign: String
        var signedHeaders: String
        var signature: String
        var authorization: String
    }

    /// Signs a request given as its parts. `path` is the request path as written in the request line (it is
    /// normalised and percent-encoded here, once); `query` is the raw query string; `headers` are the headers to
    /// sign, `Host` and `X-Amz-Date` included.
    func signature(
        method: String, path: String, query: String, headers: [(name: String, value: String)], payload: [UInt8],
        date: Date
    ) -> Signature {
        let (day, dateTime) = AWSTimestamp.sigV4(date)
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            method.uppercased(), Self.canonicalURI(path), Self.canonicalQuery(query), canonicalHeaders,
            signedHeaders, SHA256.hexDigest(payload),
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [Self.algorithm, dateTime, scope, SHA256.hexDigest(canonicalRequest)]
            .joined(separator: "\n")
        let key = Self.signingKey(secret: credentials.secretAccessKey, day: day, region: region, service: service)
        let signature = Hex.encode(HMACSHA256.authenticate(Array(stringToSign.utf8), key: key))
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders,
            signature: signature, authorization: authorization)
    }

    /// Adds `X-Amz-Date`, `X-Amz-Security-Token` (temporary credentials) and `Authorization` to `request`. Signs
    /// `Host` as libcurl will send it (the port only when it is not the scheme's default) plus every header the
    /// request already carries; `Content-Length` is left unsigned because the transport sets it.
    func sign(_ request: inout HTTPRequest, date: Date) throws(ProviderError) {
        let url: HTTPURL
        do {
            url = try HTTPURL(request.url)
        } catch {
            throw .misconfigured(provider: "aws", detail: "invalid endpoint URL: \(error)")
        }
        request.headers.removeAll { name, _ in
            let lowered = name.lowercased()
            return lowered == "authorization" || lowered == "x-amz-date" || lowered == "x-amz-security-token"
        }
        request.headers.append((name: "X-Amz-Date", value: AWSTimestamp.sigV4(date).dateTime))
        if let token = credentials.sessionToken {
            request.headers.append((name: "X-Amz-Security-Token", value: token.exposedValue))
        }
        let signed =
            [(name: "Host", value: url.hostHeader)]
            + request.headers.filter { $0.name.lowercased() != "content-length" }
        let result = signature(
            method: request.method, path: url.path, query: url.query, headers: signed, payload: request.body,
            date: date)
        request.headers.append((name: "Authorization", value: result.authorization))
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    static func signingKey(secret: Secret, day: String, region: String, service: String) -> [UInt8] {
        var key = HMACSHA256.authenticate(Array(day.utf8), key: Array(("AWS4" + secret.exposedValue).utf8))
        key = HMACSHA256.authenticate(Array(region.utf8), key: key)
        key = HMACSHA256.authenticate(Array(service.utf8), key: key)
        return HMACSHA256.authenticate(Array("aws4_request".utf8), key: key)
    }

    /// Lower-cased names, sorted; values trimmed with inner runs of spaces collapsed; repeated headers joined
    /// with `,` in the order they appear (the suite's get-header-key-duplicate / get-header-value-order).
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            values[name.lowercased(), default: []].append(collapseSpaces(value))
        }
        let names = values.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let canonical = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    /// The path with `.`/`..` segments resolved and empty segments dropped (the trailing slash kept), each segment
    /// percent-encoded (get-relative, get-slashes, get-space).
    static func canonicalURI(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !segments.isEmpty { segments.removeLast() }
                continue
            }
            segments.append(segment)
        }
        var result = "/" + segments.map { PercentEncoding.encode(String($0)) }.joined(separator: "/")
        let lastSegment = path.split(separator: "/", omittingEmptySubsequences: false).last
        if !segments.isEmpty, path.hasSuffix("/") || lastSegment == "." || lastSegment == ".." { result += "/" }
        return result
    }

    /// `key=value` pairs decoded then re-encoded per RFC 3986, sorted by key then value (byte order).
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: true).map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = PercentEncoding.encode(PercentEncoding.decode(String(parts[0])))
            let value = parts.count > 1 ? PercentEncoding.encode(PercentEncoding.decode(String(parts[1]))) : ""
            return (key, value)
        }
        return pairs.sorted { left, right in
            left.0 == right.0
                ? Array(left.1.utf8).lexicographicallyPrecedes(Array(right.1.utf8))
                : Array(left.0.utf8).lexicographicallyPrecedes(Array(right.0.utf8))
        }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    private static func collapseSpaces(_ value: String) -> String {
        var out = ""
        var lastWasSpace = false
        for char in value.trimmingASCIIWhitespace() {
            let isSpace = char == " " || char == "\t"
            if isSpace {
                if !lastWasSpace { out.append(" ") }
            } else {
                out.append(char)
            }
            lastWasSpace = isSpace
        }
        return out
    }
}

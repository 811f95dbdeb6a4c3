internal import FoundationEssentials
internal import SystemSupport

/// One HTTP exchange. Header names are matched case-insensitively; `body` is sent as is.
package struct HTTPRequest: Sendable {
    package var method: String
    package var url: String
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    /// Upper bound for the whole exchange, redirects included.
    package var timeout: Duration
    /// Upper bound for establishing the TCP/TLS connection; metadata endpoints use a short one so a machine
    /// without them fails fast (ecr-login #137 hangs for minutes).
    package var connectTimeout: Duration
    /// Responses larger than this fail with `HTTPError.tooLarge` instead of filling memory.
    package var maxResponseBytes: Int
    /// `false` only for a registry the user named insecure (`--tls-verify=false`); the certificate and host name
    /// are then not checked. Never switched off implicitly.
    package var verifyTLS: Bool
    /// A PEM bundle trusted for this request in addition to the system store and `OCICRED_CA_FILE`
    /// (containers' `certs.d/<host>/ca.crt`). Read by ocicred, not by curl: a FIFO there fails instead of
    /// hanging, and the bytes go to curl in memory. Trusted for this origin only, never after a redirect away.
    package var caFile: String?
    /// PEM certificates trusted for this request, given as data (a kubeconfig's `certificate-authority-data`):
    /// no temporary file that another user could swap between transfers.
    package var caCertificates: [UInt8]?
    /// Header names (any case) removed when a redirect leaves the origin (scheme, host or port changes), so a
    /// token meant for the registry never reaches the blob store it redirects to. `Authorization`,
    /// `Proxy-Authorization` and `Cookie` are removed whether listed or not.
    package var sensitiveHeaders: Set<String>

    package init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        timeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(10), maxResponseBytes: Int = 4 << 20,
        verifyTLS: Bool = true, caFile: String? = nil, caCertificates: [UInt8]? = nil,
        sensitiveHeaders: Set<String> = ["authorization", "proxy-authorization"]
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
        self.verifyTLS = verifyTLS
        self.caFile = caFile
        self.caCertificates = caCertificates
        self.sensitiveHeaders = sensitiveHeaders
    }
}

package struct HTTPResponse: Sendable {
    package var status: Int
    /// Header names lower-cased, in the order received (of the final response after redirects).
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    /// The URL that produced this response, after redirects.
    package var url: String

    package init(status: Int, headers: [(name: String, value: String)], body: [UInt8], url: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url
    }

    package func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name == lowered }?.value
    }

    package var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// The seam every network user goes through; tests swap the transport, never the logic above it.
package protocol HTTPClient: Sendable {
    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse
}

/// Requests carry bearer tokens in headers and client secrets in form bodies; responses carry minted tokens in
/// their bodies. Printed or reflected (`dump`, `String(reflecting:)`, a Mirror walk) they show the method, the
/// URL without its query, header names, and body sizes — never a header value that could authenticate.
extension HTTPRequest: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var description: String {
        "\(method) \(HTTPURL.redact(url)) headers: \(headers.map(\.name)) body: \(body.count) bytes"
    }
    package var debugDescription: String { description }
    package var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "method": method, "url": HTTPURL.redact(url), "headers": headers.map(\.name),
                "bodyBytes": body.count, "verifyTLS": verifyTLS,
            ], displayStyle: .struct)
    }
}

extension HTTPResponse: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var description: String {
        "HTTP \(status) from \(HTTPURL.redact(url)) headers: \(headers.map(\.name)) body: \(body.count) bytes"
    }
    package var debugDescription: String { description }
    package var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "status": status, "url": HTTPURL.redact(url), "headers": headers.map(\.name), "bodyBytes": body.count,
            ], displayStyle: .struct)
    }
}

internal import Credentials
package import FoundationEssentials
package import Logging
package import SystemSupport
package import Transport

/// A small client for the handful of Kubernetes API calls ocicred makes (`KubernetesAPICall.all`): plain JSON
/// over the injected `HTTPClient`, so tests swap the transport or point it at the fixture API server.
///
/// Objects are kept as `JSONValue` trees, not decoded into narrow structs: an update PUTs back the whole object
/// it read, so fields this client does not know (ownerReferences, finalizers, fields of a newer API version)
/// survive, as the API conventions ask of read-modify-write clients.
package struct KubernetesClient: Sendable {
    package let config: ClusterConfig
    let http: any HTTPClient
    let tokens: BearerTokenSource
    let logger: Logger
    let now: @Sendable () -> Date
    /// Each API call's upper bound; a hung API server must not stall a refresh loop forever.
    var requestTimeout: Duration = .seconds(30)
    /// Rounds of GET-merge-PUT before a 409 Conflict is reported (client-go's `retry.DefaultRetry` uses 5).
    var conflictAttempts = 5
    /// Page size for list calls (API concepts, "Retrieving large results sets in chunks").
    var listPageSize = 500

    package init(
        config: ClusterConfig, http: any HTTPClient, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.config = config
        self.http = http
        self.logger = logger
        self.now = now
        tokens = BearerTokenSource(config.token, now: now)
    }

    /// The client for this process: in-cluster or kubeconfig (see `ClusterConfig.load`), with libcurl and
    /// OCICRED_CA_FILE honoured like every other ocicred request.
    package static func fromEnvironment(_ environment: OcicredEnvironment, logger: Logger) throws(KubernetesError)
        -> KubernetesClient
    {
        let config = try ClusterConfig.load(environment: environment)
        let http = CurlHTTPClient(configuration: .fromEnvironment(environment.values))
        return KubernetesClient(config: config, http: http, logger: logger)
    }

    /// Sends one request and returns the decoded object of a 2xx answer; any other answer becomes the
    /// `KubernetesError` its Status (API conventions, "Response Status Kind") describes. A 401 re-reads a
    /// token file once and retries: the kubelet may have rotated the token since we cached it.
    func send(
        _ call: KubernetesAPICall, _ method: String, path: String, namespace: String?, name: String?,
        body: [String: JSONValue]? = nil, contentType: String = "application/json"
    ) async throws(KubernetesError) -> [String: JSONValue] {
        assert(KubernetesAPICall.all.contains(call), "\(call) is missing from KubernetesAPICall.all")
        var retriedUnauthorized = false
        while true {
            var request = HTTPRequest(
                method: method, url: config.server + path, headers: [("Accept", "application/json")],
                timeout: requestTimeout, verifyTLS: !config.insecureSkipTLSVerify, caFile: config.caFile,
                caCertificates: config.caCertificates)
            if let token = try tokens.current() {
                request.headers.append(("Authorization", "Bearer " + token.exposedValue))
            }
            if let body {
                request.headers.append(("Content-Type", contentType))
                do {
                    request.body = try JSONValue.serialize(body, pretty: false)
                } catch {
                    throw .invalidResponse(resource: call.resource, reason: "cannot encode the request: \(error)")
                }
            }
            let response: HTTPResponse
            do {
                response = try await http.send(request)
            } catch {
                throw .transport(server: config.server, error)
            }
            logger.debug(
                "kubernetes API",
                metadata: [
                    "verb": "\(call.verb)", "resource": "\(call.resource)", "path": "\(path)",
                    "status": "\(response.status)",
                ])
            if (200..<300).contains(response.status) {
                do {
                    return try JSONValue.parseObject(response.body)
                } catch {
                    throw .invalidResponse(resource: call.resource, reason: "\(error)")
                }
            }
            if response.status == 401, !retriedUnauthorized, tokens.rereadable {
                retriedUnauthorized = true
                tokens.invalidate()
                continue
            }
            throw Self.error(for: response, call: call, namespace: namespace, name: name, server: config.server)
        }
    }

    static func error(
        for response: HTTPResponse, call: KubernetesAPICall, namespace: String?, name: String?, server: String
    ) -> KubernetesError {
        let status = try? JSONValue.parseObject(response.body)
        let reason = status?["reason"]?.stringValue ?? ""
        // A Status message never holds Secret data, but a proxy's HTML error page might hold anything: cap it.
        let message = String((status?["message"]?.stringValue ?? "HTTP \(response.status)").prefix(300))
        switch response.status {
        case 401: return .unauthorized(server: server, message: message)
        case 403: return .forbidden(verb: call.verb, resource: call.resource, namespace: namespace, message: message)
        case 404: return .notFound(resource: call.resource, namespace: namespace, name: name ?? "")
        case 409 where reason == "AlreadyExists":
            return .alreadyExists(resource: call.resource, namespace: namespace, name: name ?? "")
        case 409: return .conflict(resource: call.resource, namespace: namespace, name: name ?? "", attempts: 1)
        default:
            return .api(
                code: response.status, reason: reason.isEmpty ? "HTTP \(response.status)" : reason, message: message,
                verb: call.verb, resource: call.resource)
        }
    }

    /// A path segment as the API server expects it: object names are DNS subdomains, but a caller-supplied
    /// name must never smuggle `/` or `?` into the path.
    static func segment(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let unreserved =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a)
                || (byte >= 0x61 && byte <= 0x7a) || byte == 0x2d || byte == 0x2e || byte == 0x5f || byte == 0x7e
            out +=
                unreserved
                ? String(UnicodeScalar(byte)) : "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
        }
        return out
    }
}

/// Reads and writes of the JSON trees objects are kept as.
extension [String: JSONValue] {
    var metadata: [String: JSONValue] {
        get { self["metadata"]?.objectValue ?? [:] }
        set { self["metadata"] = .object(newValue) }
    }

    var resourceVersion: String? { metadata["resourceVersion"]?.stringValue }
}

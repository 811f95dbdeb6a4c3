internal import Credentials
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// The HTTP edge of the GCP and Azure providers: OAuth 2.0 form posts (RFC 6749 §4), token responses and the
/// error bodies token services answer with, turned into `ProviderError`s. Azure's provider uses it too; it
/// lives here because GCP needed it first.
///
/// Error messages carry the endpoint without its query and the service's own error text, never a request
/// header or body (those hold assertions, client secrets and tokens).
struct OAuth2: Sendable {
    let provider: String
    let client: any HTTPClient

    /// A token and when it stops working.
    struct AccessToken: Sendable {
        var value: Secret
        var expiresAt: Date
        /// Where it came from, for messages ("https://oauth2.googleapis.com/token").
        var endpoint: String
    }

    /// Sends `request`; a transport failure becomes `.unreachable` naming the endpoint.
    func send(_ request: HTTPRequest) async throws(ProviderError) -> HTTPResponse {
        do {
            return try await client.send(request)
        } catch {
            throw .unreachable(provider: provider, endpoint: Self.endpointName(request.url), reason: error.detail)
        }
    }

    /// POSTs an `application/x-www-form-urlencoded` body and returns the JSON object of a 2xx answer; any other
    /// status is `.rejected` with the service's error code and text.
    func postForm(
        _ url: String, _ fields: [(String, String)], headers: [(name: String, value: String)] = []
    ) async throws(ProviderError) -> [String: JSONValue] {
        let request = HTTPRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")] + headers,
            body: Array(PercentEncoding.form(fields).utf8))
        return try json(await send(request), url: url)
    }

    /// The JSON object of a 2xx response, else the rejection its body describes.
    func json(_ response: HTTPResponse, url: String) throws(ProviderError) -> [String: JSONValue] {
        let endpoint = Self.endpointName(url)
        guard (200..<300).contains(response.status) else {
            throw Self.rejection(provider: provider, endpoint: endpoint, response: response)
        }
        guard let object = try? JSONValue.parseObject(response.body) else {
            throw .invalidResponse(
                provider: provider, endpoint: endpoint,
                reason: "HTTP \(response.status) with a body that is not a JSON object")
        }
        return object
    }

    /// Reads `access_token` and its lifetime from an OAuth token response. `expires_in` is a number in RFC 6749
    /// but a string in Azure IMDS answers; App Service's managed identity sends only `expires_on` (epoch
    /// seconds). Without either, one hour, the lifetime every issuer here uses by default.
    func accessToken(_ object: [String: JSONValue], url: String, now: Date, tokenField: String = "access_token")
        throws(ProviderError) -> AccessToken
    {
        let endpoint = Self.endpointName(url)
        guard let token = object[tokenField]?.stringValue, !token.isEmpty else {
            throw .invalidResponse(provider: provider, endpoint: endpoint, reason: "the answer has no \(tokenField)")
        }
        let expiresAt: Date
        if let seconds = Self.number(object["expires_in"]) {
            expiresAt = now.addingTimeInterval(seconds)
        } else if let epoch = Self.number(object["expires_on"]) {
            expiresAt = Date(timeIntervalSince1970: epoch)
        } else {
            expiresAt = now.addingTimeInterval(3600)
        }
        return AccessToken(value: Secret(token), expiresAt: expiresAt, endpoint: endpoint)
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let number)?: return Double(number)
        case .number(let number)?: return number
        case .string(let text)?: return Double(text)
        default: return nil
        }
    }

    /// Turns an error answer into `.rejected`, reading every shape these services use:
    /// OAuth (`error`, `error_description`; AAD adds `error_codes`, reported as `AADSTS<n>`), Google APIs
    /// (`{"error":{"code","message","status"}}`), the distribution spec's `{"errors":[{"code","message"}]}`
    /// (ACR's exchange), and plain text (the metadata servers).
    static func rejection(provider: String, endpoint: String, response: HTTPResponse) -> ProviderError {
        var code = "HTTP \(response.status)"
        var message = response.bodyText.trimmingASCIIWhitespace()
        if let object = try? JSONValue.parseObject(response.body) {
            if let error = object["error"]?.stringValue {
                code = error
                message = object["error_description"]?.stringValue ?? ""
                if case .array(let codes)? = object["error_codes"], let first = codes.first,
                    let number = self.number(first)
                {
                    code = "AADSTS\(Int(number))"
                    message = error + ": " + message
                }
            } else if let error = object["error"]?.objectValue {
                code = error["status"]?.stringValue ?? number(error["code"]).map { "HTTP \(Int($0))" } ?? code
                message = error["message"]?.stringValue ?? ""
            } else if case .array(let errors)? = object["errors"], let first = errors.first?.objectValue {
                code = first["code"]?.stringValue ?? code
                message = first["message"]?.stringValue ?? ""
            }
        }
        if message.isEmpty { message = "HTTP \(response.status)" }
        if message.count > 500 { message = String(message.prefix(500)) + "…" }
        return .rejected(provider: provider, endpoint: endpoint, code: code, message: message)
    }

    /// The URL without its query: what error messages name.
    static func endpointName(_ url: String) -> String {
        String(url.prefix { $0 != "?" })
    }
}

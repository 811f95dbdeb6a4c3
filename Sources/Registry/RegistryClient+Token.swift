package import Credentials
internal import Crypto
internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// The bearer-token flow of distribution's token authentication spec: the registry's 401 names a `realm`
/// (the token server), a `service` and a `scope`; the client asks the realm for a token covering the scope,
/// presenting Basic credentials on a GET, or an identity token as an OAuth2 `grant_type=refresh_token` POST
/// (distribution's "OAuth2 Token Authentication"), and sends the token to the registry only.
extension RegistryClient {
    /// A token for `scopes` under `challenge`: the cached one while it is fresh (unless `refresh`), else a new
    /// one from the realm (anonymously when the credential source has nothing).
    package func bearerToken(_ challenge: AuthChallenge, scopes: [RegistryScope], refresh: Bool)
        async throws(RegistryError) -> Secret
    {
        let key = Self.cacheKey(challenge, scopes: scopes)
        if !refresh, let cached = session.token(key, at: now()) { return cached }
        let credential = try await credential(refresh: refresh)
        let requested = Self.scopeStrings(challenge, scopes: scopes)
        let receivedAt = now()
        let response = try await requestToken(challenge, scopes: requested, credential: credential)
        session.store(
            response.token, key: key, receivedAt: receivedAt,
            expiresAt: response.expiresAt(receivedAt: receivedAt))
        return response.token
    }

    /// One exchange with the realm. The realm is where the registry said its tokens come from, so it may be
    /// another host; what it must not be is plain HTTP to a remote host, which would put the password on the
    /// wire (allowed only for loopback realms and registries the user declared insecure).
    func requestToken(_ challenge: AuthChallenge, scopes: [String], credential: RegistryCredential?)
        async throws(RegistryError) -> TokenResponse
    {
        guard let realm = challenge.realm, let realmURL = try? HTTPURL(realm) else {
            throw .unsafeRealm(
                realm: challenge.realm.map(HTTPURL.redact) ?? "(none)", reason: "it is not an http(s) URL")
        }
        let scheme = realmURL.scheme
        let realmHost = realmURL.authority
        let shownRealm = Self.redacted(realm)
        if scheme == "http", credential != nil, !endpoint.permitsPlainHTTP(to: realmHost) {
            throw .unsafeRealm(
                realm: shownRealm,
                reason: "it is plain HTTP on a remote host; use an https realm, "
                    + "or declare the registry insecure (--tls-verify=false or registries.conf) if you accept that")
        }
        var parameters: [(String, String)] = []
        if let service = challenge.service { parameters.append(("service", service)) }

        var request: HTTPRequest
        switch credential {
        case .identityToken(let token)?:
            parameters += [
                ("grant_type", "refresh_token"), ("refresh_token", token.exposedValue),
                ("client_id", "ocicred"),
            ]
            if !scopes.isEmpty { parameters.append(("scope", scopes.joined(separator: " "))) }
            request = self.request(
                "POST", url: realm,
                headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")],
                body: Array(PercentEncoding.form(parameters).utf8))
        case .basic(let username, let password)?:
            parameters += scopes.map { ("scope", $0) } + [("account", username)]
            request = self.request("GET", url: Self.appendingQuery(realm, PercentEncoding.form(parameters)))
            let basic = Base64.encode(Array("\(username):\(password.exposedValue)".utf8))
            request.headers.append((name: "Authorization", value: "Basic " + basic))
        case nil:
            parameters += scopes.map { ("scope", $0) }
            request = self.request("GET", url: Self.appendingQuery(realm, PercentEncoding.form(parameters)))
        }
        let response: HTTPResponse
        do throws(HTTPError) {
            response = try await http.send(request)
        } catch {
            throw RegistryError(error)
        }
        switch response.status {
        case 200:
            do throws(TokenResponseError) {
                return try TokenResponse.parse(response.body)
            } catch {
                throw .invalidTokenResponse(realm: shownRealm, reason: error.description)
            }
        case 401, 403:
            throw .credentialsRejected(host: endpoint.host, detail: ErrorDetail.from(response.body))
        default:
            throw .unexpectedStatus(
                host: realmHost, request: "the token request to \(shownRealm)", status: response.status,
                detail: ErrorDetail.from(response.body))
        }
    }

    /// The scopes to ask for: those the caller needs, then any the challenge named (a 401 for a resource names
    /// exactly the scope the registry wants), without repeats.
    static func scopeStrings(_ challenge: AuthChallenge, scopes: [RegistryScope]) -> [String] {
        var result: [String] = []
        for scope in scopes.map(\.description) + challenge.scopes where !result.contains(scope) {
            result.append(scope)
        }
        return result
    }

    static func cacheKey(_ challenge: AuthChallenge, scopes: [RegistryScope]) -> String {
        ([challenge.realm ?? "", challenge.service ?? ""] + scopeStrings(challenge, scopes: scopes).sorted())
            .joined(separator: "\n")
    }

    static func appendingQuery(_ url: String, _ query: String) -> String {
        guard !query.isEmpty else { return url }
        return url + (url.contains("?") ? "&" : "?") + query
    }

}

/// The part of an error body worth showing: distribution's `{"errors":[{"code","message"}]}`, a token
/// server's `{"details"}`, or OAuth2's `{"error","error_description"}`. Never the raw body (it could echo a
/// credential), and at most 200 characters.
enum ErrorDetail {
    /// Every shape of error body a registry or its token server sends, read once.
    private struct Body: Decodable {
        struct Entry: Decodable {
            var code: String?
            var message: String?
        }
        var errors: [Entry]?
        var details: String?
        var error: String?
        var errorDescription: String?

        enum CodingKeys: String, CodingKey {
            case errors, details, error
            case errorDescription = "error_description"
        }
    }

    static func from(_ body: [UInt8]) -> String {
        guard let parsed = try? JSONDecoder().decode(Body.self, from: Data(body)) else { return "" }
        var parts: [String] = []
        for entry in parsed.errors ?? [] {
            parts.append([entry.code, entry.message].compactMap { $0 }.joined(separator: ": "))
        }
        if let details = parsed.details { parts.append(details) }
        if let error = parsed.error {
            parts.append([error, parsed.errorDescription].compactMap { $0 }.joined(separator: ": "))
        }
        let text = parts.filter { !$0.isEmpty }.joined(separator: "; ")
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    /// Whether a registry error body carries one of `codes` (e.g. `DENIED`).
    static func hasCode(_ body: [UInt8], in codes: Set<String>) -> Bool {
        guard let parsed = try? JSONDecoder().decode(Body.self, from: Data(body)) else { return false }
        return parsed.errors?.contains { codes.contains($0.code ?? "") } ?? false
    }
}

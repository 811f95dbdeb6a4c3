internal import Credentials
internal import Crypto
package import FoundationEssentials
package import Logging
internal import Synchronization
internal import SystemSupport
package import Transport

/// A client for one registry's distribution API (OCI distribution-spec, "Determining support" and the token
/// auth flow): `/v2/` discovery, Basic or Bearer authorization, one retry after a 401.
///
/// A value type around an injected `HTTPClient`, so tests swap the transport and not the logic. Copies share
/// one `RegistrySession` — the scheme that answered, the challenge, and the bearer tokens cached per scope — so
/// a lazy mount's concurrent range requests reuse one token instead of minting one each.
package struct RegistryClient: Sendable {
    package let endpoint: RegistryEndpoint
    let http: any HTTPClient
    let credentials: RegistryCredentialSource
    let session: RegistrySession
    let now: @Sendable () -> Date
    let logger: Logger
    /// Per request, redirects included.
    package var timeout: Duration = .seconds(30)
    package var connectTimeout: Duration = .seconds(10)

    package init(
        endpoint: RegistryEndpoint, http: any HTTPClient, credentials: @escaping RegistryCredentialSource,
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger = Logger(label: "ocicred.registry")
    ) {
        self.endpoint = endpoint
        self.http = http
        self.credentials = credentials
        self.now = now
        self.logger = logger
        session = RegistrySession()
    }

    /// `GET /v2/`, over https, then — for insecure and loopback registries only — over plain http when https
    /// did not answer like a registry (200 or 401). The first failure is the one reported: a self-signed
    /// loopback registry shows its TLS error, not the 400 its TLS port gives a plain-HTTP request.
    ///
    /// Both attempts share one deadline, `timeout` from the first: a registry that accepts and never answers
    /// costs `timeout` once, not once per scheme, and the error names the time actually waited.
    package func ping() async throws(RegistryError) -> RegistryPing {
        if let known = session.state.withLock({ $0.ping }) { return known }
        var errors: [RegistryError] = []
        let deadline = ContinuousClock.now + timeout
        for scheme in endpoint.schemes {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            let baseURL = "\(scheme)://\(endpoint.apiHost)"
            var probe = request("GET", url: baseURL + "/v2/")
            probe.timeout = remaining
            probe.connectTimeout = min(connectTimeout, remaining)
            do throws(HTTPError) {
                let response = try await http.send(probe)
                if response.status == 200 || response.status == 401 {
                    let ping = RegistryPing(
                        baseURL: baseURL, status: response.status,
                        challenges: AuthChallenge.parse(headers: response.headers))
                    session.state.withLock { $0.ping = ping }
                    logger.debug(
                        "registry answered", metadata: ["url": "\(baseURL)/v2/", "status": "\(response.status)"])
                    return ping
                }
                errors.append(.notARegistry(host: endpoint.host, status: response.status))
            } catch {
                logger.debug("registry did not answer", metadata: ["url": "\(baseURL)/v2/", "error": "\(error)"])
                // A peer that let a request time out would let the next one time out too: the wait is over.
                // On the first attempt curl's own limit is the time waited; on the second the deadline was.
                if case .timedOut(_, let seconds) = error {
                    // (curl's limit was the remaining budget: 1.99999 s of a 2 s deadline is "2s", not "2.0s".)
                    let waited = errors.isEmpty ? (seconds * 10).rounded() / 10 : Self.seconds(timeout)
                    throw .timedOut(host: endpoint.host, seconds: waited)
                }
                errors.append(RegistryError(error))
            }
        }
        // The first failure says most (https is what was meant: an untrusted certificate is reported as such even
        // when plain HTTP to the same port gets a 400), except when the port speaks neither TLS nor HTTP.
        if errors.count > 1, case .tls = errors[0], case .transport(.notHTTP) = errors[errors.count - 1] {
            throw errors[errors.count - 1]
        }
        throw errors.first ?? .timedOut(host: endpoint.host, seconds: Self.seconds(timeout))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Sends `method path` (a path under the registry, `/v2/…`, or an absolute URL of the registry's origin)
    /// with the authorization the registry's challenge asks for, covering `scopes`. A 401 drops the cached
    /// token, asks the credential source again (`refresh: true`) and retries once with the challenge the 401
    /// carried; its answer is returned whatever it is. `maxResponseBytes` (the transport's default when nil) lets
    /// a caller that knows what size to expect abort a larger answer as it starts.
    package func send(
        _ method: String, _ path: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        scopes: [RegistryScope], maxResponseBytes: Int? = nil
    ) async throws(RegistryError) -> HTTPResponse {
        let ping = try await ping()
        let url = try absoluteURL(path, baseURL: ping.baseURL)
        var challenge = Self.preferredChallenge(ping.challenges)
        let first: String?
        do throws(RegistryError) {
            first = try await authorization(challenge, scopes: scopes, refresh: false)
        } catch .credentialsRejected {
            // The token server refused what the source gave first (a cached, minted token may have expired):
            // the same one retry, with fresh credentials.
            first = try await authorization(challenge, scopes: scopes, refresh: true)
        }
        var response = try await transmit(
            method, url: url, headers: headers, body: body, authorization: first, maxResponseBytes: maxResponseBytes)
        guard response.status == 401 || Self.isExpiredCredential(response) else { return response }
        let renewed = Self.preferredChallenge(AuthChallenge.parse(headers: response.headers)) ?? challenge
        guard let renewed else { return response }
        if let challenge { session.invalidate(Self.cacheKey(challenge, scopes: scopes)) }
        challenge = renewed
        logger.debug("401, retrying with fresh credentials", metadata: ["request": "\(method) \(path)"])
        response = try await transmit(
            method, url: url, headers: headers, body: body,
            authorization: try await authorization(renewed, scopes: scopes, refresh: true),
            maxResponseBytes: maxResponseBytes)
        return response
    }

    /// A 403 that means "your credentials expired", not "you may not": ECR's `DENIED: Your authorization token
    /// has expired`, and S3's `AccessDenied: Request has expired` from a presigned blob URL the registry
    /// redirected to. Both are cured by asking again with fresh credentials, like a 401.
    static func isExpiredCredential(_ response: HTTPResponse) -> Bool {
        guard response.status == 403, response.body.count <= 64 << 10 else { return false }
        let text = String(decoding: response.body, as: UTF8.self).lowercased()
        return text.contains("token has expired") || text.contains("request has expired")
            || text.contains("expiredtoken") || text.contains("token is expired")
    }

    /// The `Authorization` value for `challenge`, nil for an open registry or anonymous credentials.
    func authorization(_ challenge: AuthChallenge?, scopes: [RegistryScope], refresh: Bool)
        async throws(RegistryError) -> String?
    {
        guard let challenge else { return nil }
        if challenge.isBearer {
            return "Bearer " + (try await bearerToken(challenge, scopes: scopes, refresh: refresh)).exposedValue
        }
        guard challenge.isBasic else {
            throw .unsupportedChallenge(host: endpoint.host, scheme: challenge.scheme)
        }
        switch try await credential(refresh: refresh) {
        case nil:
            return nil
        case .identityToken:
            throw .identityTokenNeedsBearer(host: endpoint.host)
        case .basic(let username, let password)?:
            return "Basic " + Base64.encode(Array("\(username):\(password.exposedValue)".utf8))
        }
    }

    /// The credential source's answer, kept for the session so one command asks the resolver once; `refresh`
    /// asks again.
    func credential(refresh: Bool) async throws(RegistryError) -> RegistryCredential? {
        if !refresh, let known = session.state.withLock({ $0.credential }) { return known }
        let fresh = try await credentials(refresh)
        session.state.withLock { $0.credential = .some(fresh) }
        return fresh
    }

    func transmit(
        _ method: String, url: String, headers: [(name: String, value: String)], body: [UInt8],
        authorization: String?, maxResponseBytes: Int? = nil
    ) async throws(RegistryError) -> HTTPResponse {
        var request = request(method, url: url, headers: headers, body: body)
        if let maxResponseBytes { request.maxResponseBytes = maxResponseBytes }
        if let authorization { request.headers.append((name: "Authorization", value: authorization)) }
        do throws(HTTPError) {
            return try await http.send(request)
        } catch {
            throw RegistryError(error)
        }
    }

    func request(_ method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [])
        -> HTTPRequest
    {
        HTTPRequest(
            method: method, url: url, headers: headers, body: body, timeout: timeout, connectTimeout: connectTimeout,
            verifyTLS: endpoint.verifyTLS, caFile: endpoint.caFile)
    }

    /// A registry path, or an absolute URL that must be on the registry's own origin: credentials are only
    /// ever attached for the registry they were meant for (an upload `Location` on another host gets none).
    func absoluteURL(_ path: String, baseURL: String) throws(RegistryError) -> String {
        if path.hasPrefix("/") { return baseURL + path }
        guard Self.sameOrigin(path, baseURL) else {
            throw .invalidArgument("refusing to send registry credentials to \(Self.redacted(path))")
        }
        return path
    }

    static func sameOrigin(_ url: String, _ baseURL: String) -> Bool {
        guard let a = try? HTTPURL(url), let b = try? HTTPURL(baseURL) else { return false }
        return a.isSameOrigin(as: b)
    }

    /// Scheme, host and path of a URL, for messages (a presigned query is a secret).
    static func redacted(_ url: String) -> String { HTTPURL.redact(url) }

    /// Bearer over Basic when a registry offers both (the token flow scopes access); other schemes only when
    /// nothing else is offered, so the caller can name them in an error.
    static func preferredChallenge(_ challenges: [AuthChallenge]) -> AuthChallenge? {
        challenges.first(where: \.isBearer) ?? challenges.first(where: \.isBasic) ?? challenges.first
    }
}

/// What `/v2/` said: which base URL answered, and how it wants to be authenticated.
package struct RegistryPing: Sendable, Equatable {
    package var baseURL: String
    package var status: Int
    package var challenges: [AuthChallenge]
}

/// The state copies of one `RegistryClient` share.
final class RegistrySession: Sendable {
    struct CachedToken: Sendable {
        var token: Secret
        var expiresAt: Date
        /// Reused until here (`RenewalPolicy.registryToken`).
        var refreshAt: Date
    }

    struct State: Sendable {
        var ping: RegistryPing?
        /// `.some(nil)`: asked, anonymous.
        var credential: RegistryCredential??
        var tokens: [String: CachedToken] = [:]
        /// Set once a multi-range request was answered otherwise (a whole blob, one range, no multipart): later
        /// fetches ask range by range at once instead of paying that request again.
        var singleRangesOnly = false
    }

    let state = Mutex(State())

    func token(_ key: String, at now: Date) -> Secret? {
        state.withLock { state in
            guard let cached = state.tokens[key] else { return nil }
            if now >= cached.refreshAt {
                state.tokens[key] = nil
                return nil
            }
            return cached.token
        }
    }

    func store(_ token: Secret, key: String, receivedAt: Date, expiresAt: Date) {
        let refreshAt = RenewalPolicy.registryToken.renewAt(issuedAt: receivedAt, expiresAt: expiresAt)
        state.withLock { $0.tokens[key] = CachedToken(token: token, expiresAt: expiresAt, refreshAt: refreshAt) }
    }

    func invalidate(_ key: String) { _ = state.withLock { $0.tokens.removeValue(forKey: key) } }
}

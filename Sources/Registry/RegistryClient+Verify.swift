internal import Credentials
internal import FoundationEssentials
internal import Transport

/// "Do these credentials work?", answered the way a push or pull would find out, step by step, so the failure
/// names the step: `/v2/` with the credentials (authentication), then pull on a repository, then push.
extension RegistryClient {
    package func verify(repository: String?, push: Bool) async throws(RegistryError) -> VerificationReport {
        if let repository, !Self.isRepositoryName(repository) {
            throw .invalidArgument("\(repository) is not a repository name (lower-case path components like ns/app)")
        }
        if push, repository == nil { throw .invalidArgument("--push needs --repository") }
        // Credentials first: "none stored" must not wait for a network timeout.
        let credential = try await credential(refresh: false)
        let ping = try await ping()
        var report = VerificationReport(
            host: endpoint.host, url: ping.baseURL, username: credential?.username,
            identityToken: credential.map { if case .identityToken = $0 { true } else { false } } ?? false)

        let base = try await send("GET", "/v2/", scopes: [])
        report.scheme =
            Self.preferredChallenge(
                ping.challenges + AuthChallenge.parse(headers: base.headers))?.scheme ?? "none"
        switch base.status {
        case 200: break
        case 401, 403:
            throw .credentialsRejected(host: endpoint.host, detail: ErrorDetail.from(base.body))
        default:
            throw .unexpectedStatus(
                host: endpoint.host, request: "GET /v2/", status: base.status,
                detail: ErrorDetail.from(base.body))
        }
        report.checks.append("authenticated (\(report.scheme))")
        guard let repository else { return report }

        try await checkPull(repository)
        report.repository = repository
        report.checks.append("pull on \(repository)")
        if push {
            try await checkPush(repository, scheme: report.scheme)
            report.checks.append("push on \(repository)")
        }
        return report
    }

    /// Pull: listing tags needs exactly pull access. 404 (NAME_UNKNOWN) is fine: the registry authorizes before
    /// it looks the repository up, so a 404 means "allowed, but empty".
    func checkPull(_ repository: String) async throws(RegistryError) {
        let response = try await send(
            "GET", "/v2/\(repository)/tags/list", scopes: [.repository(repository, actions: ["pull"])])
        switch response.status {
        case 200, 404: return
        case 401, 403:
            throw .denied(
                host: endpoint.host, repository: repository, action: "pull",
                detail: ErrorDetail.from(response.body))
        default:
            throw .unexpectedStatus(
                host: endpoint.host, request: "GET /v2/\(repository)/tags/list",
                status: response.status, detail: ErrorDetail.from(response.body))
        }
    }

    /// Push. With token auth the token server decides, and says what it granted in the token's `access` claim
    /// (a read-only user gets a pull-only token, not an error), so the claim is read. With Basic auth (or an
    /// opaque token) only the registry knows: a blob upload is started (`POST /v2/<name>/blobs/uploads/`,
    /// 202) and cancelled at once (`DELETE` of its Location), leaving nothing behind.
    func checkPush(_ repository: String, scheme: String) async throws(RegistryError) {
        let scopes: [RegistryScope] = [.repository(repository, actions: ["pull", "push"])]
        let ping = try await ping()
        if scheme == "bearer", let challenge = Self.preferredChallenge(ping.challenges), challenge.isBearer {
            let token = try await bearerToken(challenge, scopes: scopes, refresh: false)
            if let access = GrantedAccess.fromToken(token.exposedValue) {
                guard GrantedAccess.allows(access, action: "push", repository: repository) else {
                    let granted = access.filter { $0.name == repository }.flatMap(\.actions)
                    throw .denied(
                        host: endpoint.host, repository: repository, action: "push",
                        detail: "the token server granted "
                            + (granted.isEmpty ? "nothing" : granted.joined(separator: ", ")))
                }
                return
            }
        }
        let response = try await send("POST", "/v2/\(repository)/blobs/uploads/", scopes: scopes)
        switch response.status {
        case 202:
            if let location = response.header("location") {
                let target = location.hasPrefix("/") || location.contains("://") ? location : "/" + location
                if target.hasPrefix("/") || Self.sameOrigin(target, ping.baseURL) {
                    _ = try? await send("DELETE", target, scopes: scopes)
                }
            }
        case 401, 403:
            throw .denied(
                host: endpoint.host, repository: repository, action: "push",
                detail: ErrorDetail.from(response.body))
        default:
            throw .unexpectedStatus(
                host: endpoint.host, request: "POST /v2/\(repository)/blobs/uploads/",
                status: response.status, detail: ErrorDetail.from(response.body))
        }
    }

    /// distribution's repository name grammar, loosely: lower-case alphanumerics separated by `.`, `_`, `-`
    /// within components and `/` between them.
    static func isRepositoryName(_ name: String) -> Bool {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        return !components.isEmpty
            && components.allSatisfy { component in
                guard let first = component.first, let last = component.last, first.isLetter || first.isNumber,
                    last.isLetter || last.isNumber
                else { return false }
                return component.allSatisfy {
                    ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "." || $0 == "_" || $0 == "-"
                }
            }
    }
}

/// What `verify` found, for the command to print.
package struct VerificationReport: Sendable, Equatable, CustomStringConvertible {
    package var host: String
    /// The base URL that answered (https, or http for an insecure or loopback registry).
    package var url: String
    package var username: String?
    package var identityToken: Bool
    /// `bearer`, `basic`, or `none` when the registry asked for no authentication.
    package var scheme: String = "none"
    package var repository: String?
    package var checks: [String] = []

    package var description: String {
        let who = identityToken ? "an identity token" : username.map { "user \($0)" } ?? "no credentials"
        var lines = ["\(host): credentials OK (\(who), \(url))"]
        if scheme == "none" { lines.append("  note: the registry asks for no authentication on /v2/") }
        lines += checks.map { "  ✓ \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }
}

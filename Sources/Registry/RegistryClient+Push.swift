internal import FoundationEssentials
internal import SystemSupport
internal import Transport

/// Pushing (distribution-spec "Pushing blobs" — the POST-then-PUT monolithic upload — and "Pushing manifests"):
/// what `ocicred index --push` needs to store an index next to the image it describes. Every request asks for
/// `pull,push` on the repository, so a token server grants both in one token.
extension RegistryClient {
    /// Uploads `bytes` as the blob `digest` unless the repository already has it (`HEAD` first). Returns whether
    /// it uploaded. The registry hashes what it receives and refuses a wrong digest; the `Docker-Content-Digest`
    /// it answers must name the digest pushed.
    @discardableResult
    package func pushBlob(_ bytes: [UInt8], digest: String, repository: String) async throws(RegistryError) -> Bool {
        guard Digest.isWellFormed(digest) else { throw .unsupportedDigest(digest) }
        let scopes = Self.pushScopes(repository)
        let blobPath = "/v2/\(repository)/blobs/\(digest)"
        let head = try await send("HEAD", blobPath, scopes: scopes)
        switch head.status {
        case 200: return false
        case 404: break
        default: throw failure(head, request: "HEAD \(blobPath)", repository: repository, action: "pull")
        }

        let uploads = "/v2/\(repository)/blobs/uploads/"
        let start = try await send("POST", uploads, scopes: scopes)
        guard start.status == 202 else {
            throw failure(start, request: "POST \(uploads)", repository: repository, action: "push")
        }
        guard let location = start.header("location"), !location.isEmpty else {
            throw .unexpectedStatus(
                host: endpoint.host, request: "POST \(uploads)", status: start.status,
                detail: "the answer has no Location to upload to")
        }
        let session = try await uploadURL(location, uploadsPath: uploads)
        let target = Self.appendingQuery(session, "digest=" + PercentEncoding.encode(digest))
        let put = try await sendToUpload(
            "PUT", target, headers: [(name: "Content-Type", value: "application/octet-stream")], body: bytes,
            scopes: scopes)
        guard put.status == 201 else {
            // Leave no upload session behind (best effort: the registry expires them anyway).
            _ = try? await sendToUpload("DELETE", session, headers: [], body: [], scopes: scopes)
            throw failure(put, request: "PUT (blob upload of \(digest))", repository: repository, action: "push")
        }
        try checkReportedDigest(put, digest: digest, request: "PUT (blob upload of \(digest))")
        return true
    }

    /// `PUT /v2/<name>/manifests/<reference>` (the digest when `reference` is nil) with `mediaType` as the
    /// Content-Type. The answer's `Docker-Content-Digest` must equal `digest`, the sha256 of `body` the caller
    /// computed: a registry that rewrote the manifest would otherwise leave the caller pointing at nothing.
    package func pushManifest(
        _ body: [UInt8], mediaType: String, digest: String, repository: String, reference: String? = nil
    ) async throws(RegistryError) -> PushedManifest {
        let path = "/v2/\(repository)/manifests/\(reference ?? digest)"
        let response = try await send(
            "PUT", path, headers: [(name: "Content-Type", value: mediaType)], body: body,
            scopes: Self.pushScopes(repository))
        guard response.status == 201 else {
            throw failure(response, request: "PUT \(path)", repository: repository, action: "push")
        }
        try checkReportedDigest(response, digest: digest, request: "PUT \(path)")
        let subject = response.header("oci-subject")
        return PushedManifest(digest: digest, subject: subject?.isEmpty == false ? subject : nil)
    }

    static func pushScopes(_ repository: String) -> [RegistryScope] {
        [.repository(repository, actions: ["pull", "push"])]
    }

    /// The upload session's URL from a `Location` that may be absolute, path-absolute (`/v2/…`) or relative to
    /// the uploads URL (RFC 3986 §5 reference resolution).
    func uploadURL(_ location: String, uploadsPath: String) async throws(RegistryError) -> String {
        let base = try await ping().baseURL
        guard let uploads = try? HTTPURL(base + uploadsPath), let resolved = try? uploads.resolving(location).string
        else {
            throw .unexpectedStatus(
                host: endpoint.host, request: "POST \(uploadsPath)", status: 202,
                detail: "its Location is not a URL")
        }
        return resolved
    }

    /// A request to an upload session URL. On the registry's own origin it goes through `send` (credentials,
    /// 401 retry); elsewhere (a registry that hands uploads to another host) it carries no credentials at all —
    /// the session URL is its own authorization — and never goes over plain HTTP to a remote host, because the
    /// blob (an index lists a private image's files) is not for the wire.
    func sendToUpload(
        _ method: String, _ url: String, headers: [(name: String, value: String)], body: [UInt8],
        scopes: [RegistryScope]
    ) async throws(RegistryError) -> HTTPResponse {
        let base = try await ping().baseURL
        if Self.sameOrigin(url, base) {
            return try await send(method, url, headers: headers, body: body, scopes: scopes)
        }
        guard let parsed = try? HTTPURL(url),
            parsed.scheme == "https" || (parsed.scheme == "http" && endpoint.permitsPlainHTTP(to: parsed.authority))
        else {
            throw .invalidArgument(
                "refusing to upload to \(Self.redacted(url)): the registry named another origin over plain HTTP")
        }
        return try await transmit(method, url: url, headers: headers, body: body, authorization: nil)
    }

    /// 401/403 (or a `DENIED`/`UNAUTHORIZED` body) → `.denied` for `action`: the credentials already passed `/v2/`
    /// and the pull of the subject, so what is missing is the right; anything else → `.unexpectedStatus`.
    func failure(_ response: HTTPResponse, request: String, repository: String, action: String) -> RegistryError {
        let detail = ErrorDetail.from(response.body)
        if response.status == 401 || response.status == 403
            || ErrorDetail.hasCode(response.body, in: ["DENIED", "UNAUTHORIZED"])
        {
            return .denied(host: endpoint.host, repository: repository, action: action, detail: detail)
        }
        return .unexpectedStatus(host: endpoint.host, request: request, status: response.status, detail: detail)
    }

    func checkReportedDigest(_ response: HTTPResponse, digest: String, request: String) throws(RegistryError) {
        guard let reported = response.header("docker-content-digest"), !reported.isEmpty,
            reported.lowercased() != digest.lowercased()
        else { return }
        throw .unexpectedStatus(
            host: endpoint.host, request: request, status: response.status,
            detail: "it reports Docker-Content-Digest \(reported), but \(digest) was pushed; the registry altered it")
    }
}

/// What a manifest push left in the registry.
package struct PushedManifest: Sendable, Equatable {
    /// The manifest's digest, as the registry confirmed it.
    package var digest: String
    /// The `OCI-Subject` header (distribution-spec v1.1, "Pushing Manifests with Subject"): set by a registry that
    /// indexes referrers itself; absent, the client maintains the referrers tag schema.
    package var subject: String?

    package init(digest: String, subject: String?) {
        self.digest = digest
        self.subject = subject
    }
}

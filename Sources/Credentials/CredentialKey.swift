/// The key credentials are stored and looked up under: a registry host, optionally narrowed to a namespace.
///
/// Clients name a registry in several shapes — docker passes `https://index.docker.io/v1/` to a helper, podman
/// passes `quay.io`, containers auth files may hold `host/ns/repo` keys (containers-auth.json(5)), and old
/// docker config files hold `https://host/v1/` — so every shape is normalised to one key: the scheme, trailing
/// slashes and a trailing `v1`/`v2` API segment are dropped, the host is lower-cased (DNS is case-insensitive)
/// and each Docker Hub alias becomes `docker.io`, as containers/image's `normalizeRegistry` does.
package struct CredentialKey: Hashable, Sendable, CustomStringConvertible {
    /// Lower-cased `host[:port]`; `docker.io` for every Docker Hub alias.
    package let host: String
    /// `""` for the whole registry, else `ns` or `ns/repo` without leading or trailing slash.
    package let path: String

    /// Names docker, podman and the Docker Hub API use for the one registry whose credentials they share.
    static let dockerHubAliases: Set<String> = ["docker.io", "index.docker.io", "registry-1.docker.io"]
    /// The key docker writes for Docker Hub in `config.json` and passes to helpers.
    static let dockerHubConfigKey = "https://index.docker.io/v1/"

    init(normalizedHost host: String, path: String) {
        self.host = host
        self.path = path
    }

    package init(serverURL: String) throws(ReferenceError) {
        if serverURL.isEmpty { throw .empty }
        // Checked before anything else so that no later message can quote part of a password.
        if serverURL.utf8.contains(ReferenceGrammar.at) { throw .userinfoNotAllowed }
        if let scalar = ReferenceGrammar.firstSpaceOrControl(in: serverURL) { throw .invalidCharacter(scalar) }

        var rest = Array(serverURL.utf8)[...]
        if let schemeEnd = ReferenceGrammar.schemeSeparator(in: rest) {
            let scheme = ReferenceGrammar.lowercased(ReferenceGrammar.text(rest[..<schemeEnd]))
            guard scheme == "https" || scheme == "http" else { throw .unsupportedScheme(scheme) }
            rest = rest[(schemeEnd + 3)...]
        }

        let authorityEnd = rest.firstIndex(of: ReferenceGrammar.slash) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        try ReferenceGrammar.validateDomain(authority)
        let host = Self.normalizedHost(ReferenceGrammar.text(authority))

        var pathBytes = rest[authorityEnd...].dropFirst()
        while pathBytes.last == ReferenceGrammar.slash { pathBytes = pathBytes.dropLast() }
        var segments: [ArraySlice<UInt8>] = []
        if !pathBytes.isEmpty {
            segments = pathBytes.split(separator: ReferenceGrammar.slash, omittingEmptySubsequences: false)
        }
        if let last = segments.last, last.elementsEqual("v1".utf8) || last.elementsEqual("v2".utf8) {
            segments.removeLast()
        }
        // The segments are contiguous slices of `pathBytes`, so the path is the bytes up to the last one kept
        // (cheaper than joining them again, which a credential-helper call would pay on every start).
        let path = segments.last.map { ReferenceGrammar.text(pathBytes[pathBytes.startIndex..<$0.endIndex]) } ?? ""
        for segment in segments {
            if segment.contains(where: ReferenceGrammar.isUppercase) { throw .uppercaseRepository(path) }
            guard ReferenceGrammar.isPathComponent(segment) else { throw .invalidRepository(path) }
        }

        let length = host.utf8.count + (path.isEmpty ? 0 : 1 + path.utf8.count)
        guard length <= ReferenceGrammar.nameTotalLengthMax else { throw .nameTooLong(length) }
        self.init(normalizedHost: host, path: path)
    }

    /// Credentials belong to a registry, so a reference maps to its bare host; `forImage` and `namespaces` give
    /// the narrower keys a containers auth file may hold for it.
    package init(reference: Reference) {
        self.init(normalizedHost: Self.normalizedHost(reference.host), path: "")
    }

    /// The most specific key for an image, `host/ns/repo`, whose `lookupOrder` walks back to the bare host.
    package static func forImage(_ reference: Reference) -> CredentialKey {
        CredentialKey(normalizedHost: normalizedHost(reference.host), path: reference.repository)
    }

    static func normalizedHost(_ host: String) -> String {
        let lowered = ReferenceGrammar.lowercased(host)
        return dockerHubAliases.contains(lowered) ? ReferenceGrammar.dockerHubDomain : lowered
    }

    package var description: String { path.isEmpty ? host : host + "/" + path }

    /// This key, then each shorter path prefix, then the bare host: the order in which containers/image tries
    /// `auths` keys (`host/ns/repo`, `host/ns`, `host`), so the most specific credential wins.
    package var lookupOrder: [CredentialKey] {
        var keys = [self]
        var prefix = Substring(path)
        while let slash = prefix.lastIndex(of: "/") {
            prefix = prefix[..<slash]
            keys.append(CredentialKey(normalizedHost: host, path: String(prefix)))
        }
        if !path.isEmpty { keys.append(CredentialKey(normalizedHost: host, path: "")) }
        return keys
    }

    /// The namespaced keys of `lookupOrder`, most specific first, without the bare host.
    package var namespaces: [CredentialKey] { lookupOrder.filter { !$0.path.isEmpty } }

    package var isDockerHub: Bool { host == ReferenceGrammar.dockerHubDomain }

    /// The `auths` key docker itself would write: Docker Hub is still keyed by its v1 index URL.
    package var dockerConfigKey: String { isDockerHub && path.isEmpty ? Self.dockerHubConfigKey : description }
}

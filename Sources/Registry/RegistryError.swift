package import Credentials
internal import SystemSupport
package import Transport

/// Why talking to a registry failed, told apart because the user's next step differs: store credentials, fix
/// the password, start the registry, trust its CA. No message holds a secret or a response body verbatim (a
/// token server may echo what it was sent); registry error codes and messages are quoted, trimmed.
package enum RegistryError: Error, Equatable, CustomStringConvertible {
    /// The resolver knows no credentials for the host.
    case noCredentials(host: String)
    /// Resolving credentials failed for a reason other than "none" (an unreadable store, a provider error).
    case credentials(CredentialError)
    /// The registry or its token server refused the credentials (401 on `/v2/` or at the realm).
    case credentialsRejected(host: String, detail: String)
    /// The credentials are valid but do not allow `action` on `repository` (403, `DENIED`, or a token whose
    /// `access` claim lacks the action).
    case denied(host: String, repository: String, action: String, detail: String)
    case unreachable(host: String, reason: String)
    case timedOut(host: String, seconds: Double)
    case tls(host: String, reason: String)
    /// `/v2/` answered with neither 200 nor 401: not a distribution registry (or a proxy in the way).
    case notARegistry(host: String, status: Int)
    case unexpectedStatus(host: String, request: String, status: Int, detail: String)
    case invalidTokenResponse(realm: String, reason: String)
    /// The registry named a token realm we will not send credentials to.
    case unsafeRealm(realm: String, reason: String)
    case unsupportedChallenge(host: String, scheme: String)
    /// An identity token can only be exchanged at a token server; a Basic registry has none.
    case identityTokenNeedsBearer(host: String)
    case invalidArgument(String)
    case registriesConf(RegistriesConfError)
    case transport(HTTPError)
    // The distribution protocol's content: manifests, indexes, platforms, blobs and ranges.
    case invalidPlatform(String)
    case manifestNotFound(reference: String, status: Int)
    case unsupportedMediaType(String)
    case invalidManifest(reason: String)
    /// No entry of an image index matches the platform; `available` lists what the index offers.
    case noMatchingPlatform(requested: String, available: [String])
    case digestMismatch(what: String, expected: String, actual: String)
    case unsupportedDigest(String)
    case blobFetch(digest: String, status: Int)
    /// The registry (or its blob store) answered a range request with other bytes than asked for.
    case rangeNotHonoured(digest: String, detail: String)

    /// The exit-code class of the failure (see `FailureKind`).
    package var kind: FailureKind {
        switch self {
        case .noCredentials: return .noCredentials
        case .credentialsRejected, .denied, .identityTokenNeedsBearer: return .rejected
        case .unreachable, .timedOut: return .unreachable
        case .tls: return .tls
        default: return .other
        }
    }

    /// Maps a transport failure of the request to `host` onto the classes above.
    package init(_ error: HTTPError) {
        switch error {
        case .unreachable(let host, let reason): self = .unreachable(host: host, reason: reason)
        case .timedOut(let host, let seconds): self = .timedOut(host: host, seconds: seconds)
        case .tls(let host, let reason): self = .tls(host: host, reason: reason)
        default: self = .transport(error)
        }
    }

    package var description: String {
        switch self {
        case .noCredentials(let host):
            return "no credentials for \(host): run `ocicred login \(host)` (or `ocicred configure --registry \(host)` "
                + "and then `podman login \(host)`), or add a rule to the ocicred config"
        case .credentials(let error):
            return error.description
        case .credentialsRejected(let host, let detail):
            return "\(host) rejected the credentials" + Self.suffix(detail)
                + "; check the username and password (or token) and log in again"
        case .denied(let host, let repository, let action, let detail):
            return "the credentials for \(host) are valid but do not allow \(action) on \(repository)"
                + Self.suffix(detail) + "; ask the registry's administrator for \(action) access"
        case .unreachable(let host, let reason):
            return "cannot reach \(host): \(reason); check the host name and port and that the registry is running"
        case .timedOut(let host, let seconds):
            return
                "\(host) did not answer within \(DurationText.format(seconds)); check the network path (proxy, firewall) "
                + "to it"
        case .tls(let host, let reason):
            return "TLS with \(host) failed: \(reason); trust the registry's CA (put it in "
                + "/etc/containers/certs.d/\(host)/ca.crt, pass --cert-dir DIR, or set OCICRED_CA_FILE) or, for a "
                + "registry you trust without TLS, pass --tls-verify=false"
        case .notARegistry(let host, let status):
            return "\(host) answered /v2/ with HTTP \(status): not an OCI distribution registry at this address"
        case .unexpectedStatus(let host, let request, let status, let detail):
            return "\(host) answered \(request) with HTTP \(status)" + Self.suffix(detail)
        case .invalidTokenResponse(let realm, let reason):
            return "the token server \(realm) answered with something unusable: \(reason)"
        case .unsafeRealm(let realm, let reason):
            return "not sending credentials to the token realm \(realm): \(reason)"
        case .unsupportedChallenge(let host, let scheme):
            return "\(host) asks for \(scheme) authentication, which registries do not use and ocicred does not speak"
        case .identityTokenNeedsBearer(let host):
            return "the credential for \(host) is an identity token, but \(host) uses Basic authentication; log in "
                + "with a username and password"
        case .invalidArgument(let reason):
            return reason
        case .registriesConf(let error):
            return error.description
        case .transport(let error):
            return error.description
        case .invalidPlatform(let text):
            return "\(text) is not a platform: write os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7"
        case .manifestNotFound(let reference, let status):
            return "the registry has no manifest for \(reference) (HTTP \(status)); check the tag or digest"
        case .unsupportedMediaType(let type):
            return "unsupported media type \(type): only OCI and Docker v2 manifests, indexes and tar layers are read"
        case .invalidManifest(let reason): return "the manifest is not usable: \(reason)"
        case .noMatchingPlatform(let requested, let available):
            return "the image has no manifest for \(requested); it offers \(available.joined(separator: ", ")) "
                + "(pick one with --platform)"
        case .digestMismatch(let what, let expected, let actual):
            return "\(what) does not match its digest (expected \(expected), got \(actual)): the registry or a "
                + "proxy altered it"
        case .unsupportedDigest(let digest):
            return "unsupported digest \"\(digest.prefix(80))\": only sha256:<64 lower-case hex> is accepted"
        case .blobFetch(let digest, let status): return "fetching blob \(digest) failed with HTTP \(status)"
        case .rangeNotHonoured(let digest, let detail):
            return "the registry did not honour a range request for \(digest) (\(detail)); lazy reads need HTTP "
                + "Range support"
        }
    }

    private static func suffix(_ detail: String) -> String { detail.isEmpty ? "" : " (\(detail))" }
}

/// How a registry check ended, as the exit status `ocicred verify` and `ocicred login` return: scripts and CI
/// branch on "log in again" (3) versus "the registry is down" (4) versus "trust its CA" (5).
package enum FailureKind: Int32, Sendable, CaseIterable {
    case other = 1
    case noCredentials = 2
    case rejected = 3
    case unreachable = 4
    case tls = 5
}

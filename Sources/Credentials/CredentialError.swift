/// Everything that can go wrong between "which credentials does this registry use" and an answer. Every
/// message says what to do next and none contains a secret. `notFound` is reserved for "nobody knows this
/// host": a store we cannot read is never reported as not-found (ecr-login's #327 masks causes that way).
package enum CredentialError: Error, Equatable, CustomStringConvertible {
    case notFound(host: String)
    case invalidServerURL(reason: String)
    case storeUnreadable(path: String, reason: String)
    case storeUndecryptable(path: String, keyFile: String)
    case storeCorrupt(path: String, reason: String)
    case storeWriteFailed(path: String, reason: String)
    case keyUnreadable(path: String, reason: String)
    case keyInvalid(path: String)
    case keyMissing(path: String, storePath: String)
    case materialEmpty
    case materialUnparsable(reason: String)
    case materialUnsupportedVersion(Int)
    case materialUnknownType(String)
    case providerUnavailable(type: String, host: String)
    case provider(ProviderError)
    case config(ConfigError)
    case configUnreadable(path: String, reason: String)
    /// A static rule names an environment variable that is not set (the name, never a value, is reported).
    case variableMissing(host: String, variable: String, rule: String)
    case aliasLoop(host: String)
    case authFileUnreadable(path: String, reason: String)
    case authFileWriteFailed(path: String, reason: String)
    /// A secret-holding path (store, key, cache) that another user could tamper with: refused, ssh-style.
    case unsafePath(String)
    /// A credential whose expiry has passed, where writing it would only move the failure to the build.
    case credentialExpired(host: String, expiredAt: String)

    package var description: String {
        switch self {
        case .notFound(let host):
            // `podman login` alone keeps the password base64 in its auth file unless credHelpers routes the host
            // here; `configure` is idempotent, so the hint is right whether or not that was done.
            return "no credentials for \(host): store them with `ocicred login \(host)`, or run `ocicred configure "
                + "--registry \(host)` and then `podman login \(host)` so podman stores them through ocicred"
        case .invalidServerURL(let reason):
            return "invalid server URL: \(reason)"
        case .storeUnreadable(let path, let reason):
            return "cannot read credential store file \(path): \(reason); check its owner and permissions"
        case .storeUndecryptable(let path, let keyFile):
            return "cannot decrypt credential store file \(path) with the key in \(keyFile): the key is wrong or the "
                + "file was altered; restore the right key (OCICRED_KEY_FILE) or remove the file and store the "
                + "credential again"
        case .storeCorrupt(let path, let reason):
            return "credential store file \(path) is damaged (\(reason)); remove it and store the credential again"
        case .storeWriteFailed(let path, let reason):
            return "cannot write credential store file \(path): \(reason)"
        case .keyUnreadable(let path, let reason):
            return "cannot read the store key file \(path): \(reason); set OCICRED_KEY_FILE to a readable key file"
        case .keyInvalid(let path):
            return "the store key file \(path) does not hold a 32-byte key (raw, base64 or hex); replace it with "
                + "the key the store was written with"
        case .keyMissing(let path, let storePath):
            return "the store \(storePath) has credentials but its key file \(path) is missing; set "
                + "OCICRED_KEY_FILE to the key it was written with"
        case .materialEmpty:
            return "credential material is empty: give `username:password` or the versioned JSON shape"
        case .materialUnparsable(let reason):
            return "credential material cannot be read: \(reason); give `username:password` or "
                + "{\"version\":1,\"type\":…,\"credentials\":{…}}"
        case .materialUnsupportedVersion(let version):
            return "credential material version \(version) is not supported (this ocicred reads version 1); "
                + "upgrade ocicred"
        case .materialUnknownType(let type):
            return "credential material type \"\(type)\" is unknown; use one of "
                + CredentialType.allCases.map(\.rawValue).joined(separator: ", ")
        case .provider(let error):
            return error.description
        case .config(let error):
            return "config: \(error.description)"
        case .configUnreadable(let path, let reason):
            return "cannot read the config \(path): \(reason)"
        case .variableMissing(let host, let variable, let rule):
            return "credentials for \(host) come from the environment variable \(variable) (rule at \(rule)), "
                + "which is not set"
        case .authFileUnreadable(let path, let reason):
            return "cannot use the auth file \(path): \(reason); fix or move it (it is left untouched)"
        case .authFileWriteFailed(let path, let reason):
            return "cannot write the auth file \(path): \(reason)"
        case .aliasLoop(let host):
            return "the config's aliases for \(host) form a loop or are nested too deeply; point `alias` at a real "
                + "registry"
        case .unsafePath(let sentence):
            return sentence
        case .credentialExpired(let host, let expiredAt):
            return "the credential for \(host) expired at \(expiredAt); refusing to write it (refresh its source, or "
                + "pass --allow-expired to write it anyway)"
        case .providerUnavailable(let type, let host):
            return
                "credentials for \(host) must be minted by the \(type) provider, which this build of ocicred does not "
                + "include"
        }
    }
}

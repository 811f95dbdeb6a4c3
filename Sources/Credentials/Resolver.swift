public import Logging

/// Answers "which credentials does this registry use", in the order DESIGN.md gives. For now: the encrypted
/// store, then the ambient auth files' `auths`. A host nobody knows is answered from local files only, with no
/// network call, so a pull from a public registry pays nothing.
public struct Resolver: Sendable {
    /// The name we are installed under in `credHelpers`/`credsStore` (docker-credential-<name>).
    public static let helperName = "ocicred"

    public let store: EncryptedStore
    public let authFiles: [String]
    let logger: Logger

    public init(environment: OcicredEnvironment, logger: Logger) {
        store = EncryptedStore(directory: environment.storeDirectory, keyFile: environment.keyFile)
        authFiles = environment.ambientAuthFiles
        self.logger = logger
    }

    public init(store: EncryptedStore, authFiles: [String], logger: Logger) {
        self.store = store
        self.authFiles = authFiles
        self.logger = logger
    }

    public func resolve(_ key: CredentialKey) throws(CredentialError) -> Credential {
        for candidate in key.lookupOrder {
            if let (material, path) = try store.material(for: candidate) {
                guard let (username, secret) = material.staticCredential() else {
                    throw .providerUnavailable(type: material.type.rawValue, host: key.host)
                }
                logger.debug("credentials found", metadata: ["host": "\(key)", "source": "\(path)"])
                return Credential(username: username, secret: secret, source: .store(path: path))
            }
        }
        for path in authFiles {
            let bytes: [UInt8]?
            do {
                bytes = try FileIO.read(path, limit: 4 << 20)
            } catch {
                logger.warning("skipping unreadable auth file", metadata: ["path": "\(path)", "error": "\(error)"])
                continue
            }
            guard let bytes else { continue }
            let file: AuthFile
            do {
                file = try AuthFile.parse(bytes)
            } catch {
                logger.warning("skipping malformed auth file", metadata: ["path": "\(path)", "error": "\(error)"])
                continue
            }
            if file.delegates(key, to: Self.helperName) { continue }
            if let (username, secret) = file.credential(for: key) {
                logger.debug("credentials found", metadata: ["host": "\(key)", "source": "\(path)"])
                return Credential(username: username, secret: secret, source: .authFile(path: path))
            }
        }
        throw .notFound(host: key.description)
    }
}

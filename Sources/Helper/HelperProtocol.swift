package import Credentials
internal import FoundationEssentials
package import Logging
internal import SystemSupport

/// The docker-credential-helpers protocol (github.com/docker/docker-credential-helpers, credentials.go) as a
/// function from (action, stdin bytes) to (stdout bytes, exit status) over the resolver it is given, so every
/// message can be tested byte for byte without a process. Not pure: through that resolver it reads the store and
/// auth files and may ask a cloud provider over the network; tests hand it a resolver of their own. Errors go to stdout with status 1 because that is where docker, podman
/// and containers/image read them; diagnostics go to the logger (stderr).
package struct HelperProtocol: Sendable {
    package static let version = "0.1.0"
    /// A credential request is a URL or a small JSON object; anything near this size is a mistake or an
    /// attack, and refusing it early keeps the helper's memory flat.
    package static let maxInputBytes = 64 * 1024

    package static let notFoundMessage = "credentials not found in native keychain"
    package static let missingServerURLMessage = "no credentials server URL"
    package static let missingUsernameMessage = "no credentials username"

    package struct Response: Equatable, Sendable {
        package var stdout: String
        package var status: Int32
        static func ok(_ text: String = "") -> Response { Response(stdout: text, status: 0) }
        static func failure(_ message: String) -> Response { Response(stdout: message + "\n", status: 1) }
    }

    let resolver: Resolver
    let logger: Logger

    package init(resolver: Resolver, logger: Logger) {
        self.resolver = resolver
        self.logger = logger
    }

    package static var usage: String { "Usage: docker-credential-ocicred <store|get|erase|list|version>" }
    package static var versionLine: String { "docker-credential-ocicred (ocicred) \(version)\n" }

    /// Whether `action` reads stdin. `list` and `version` do not, so they never block on a terminal.
    package static func readsInput(_ action: String) -> Bool { ["store", "get", "erase"].contains(action) }

    /// Handles one call. `input` is nil when stdin exceeded `maxInputBytes`.
    package func handle(action: String, input: [UInt8]?) -> Response {
        switch action {
        case "store", "get", "erase":
            guard let input else {
                return .failure("input too large: credential helper input is limited to \(Self.maxInputBytes) bytes")
            }
            switch action {
            case "store": return store(input)
            case "get": return get(input)
            default: return erase(input)
            }
        case "list": return list()
        case "version": return .ok(Self.versionLine)
        default: return .failure("Unknown credential action `\(action)`")
        }
    }

    private func serverURL(from input: [UInt8]) -> String {
        String(decoding: input, as: UTF8.self).trimmingASCIIWhitespace()
    }

    /// The storage key for a server URL, or the response that explains why the URL is unusable.
    private func key(for serverURL: String) -> (key: CredentialKey?, failure: Response?) {
        do {
            return (try CredentialKey(serverURL: serverURL), nil)
        } catch {
            return (nil, .failure(CredentialError.invalidServerURL(reason: error.description).description))
        }
    }

    func get(_ input: [UInt8]) -> Response {
        let url = serverURL(from: input)
        if url.isEmpty { return .failure(Self.missingServerURLMessage) }
        let (parsedKey, failure) = self.key(for: url)
        guard let key = parsedKey else { return failure! }
        do {
            let credential: Credential
            switch try resolver.plan(key) {
            case .answer(let found):
                credential = found
            case .mint(let mint):
                // Only here does the helper start the async runtime: a token has to be minted.
                let resolver = self.resolver
                let outcome = AsyncBridge.wait { () async -> Result<Credential, CredentialError> in
                    do throws(CredentialError) {
                        return .success(try await resolver.execute(mint))
                    } catch {
                        return .failure(error)
                    }
                }
                credential = try outcome.get()
            }
            let body = GoJSON.object([
                ("ServerURL", url), ("Username", credential.username), ("Secret", credential.secret.exposedValue),
            ])
            return .ok(body + "\n")
        } catch .notFound {
            return .failure(Self.notFoundMessage)
        } catch {
            logger.error("get failed", metadata: ["host": "\(key)", "error": "\(error)"])
            return .failure(error.description)
        }
    }

    func store(_ input: [UInt8]) -> Response {
        let request: StoreRequest
        do {
            request = try StoreRequest.decode(input)
        } catch {
            return .failure("invalid credentials JSON on stdin: \(error.description)")
        }
        if request.serverURL.isEmpty { return .failure(Self.missingServerURLMessage) }
        if request.username.isEmpty { return .failure(Self.missingUsernameMessage) }
        let (parsedKey, failure) = self.key(for: request.serverURL)
        guard let key = parsedKey else { return failure! }
        let material = CredentialMaterial.fromStoreRequest(
            serverURL: request.serverURL, username: request.username, secret: request.secret)
        do {
            try resolver.store.store(material, for: key)
            logger.info("stored credentials", metadata: ["host": "\(key)", "type": "\(material.type.rawValue)"])
            return .ok()
        } catch {
            logger.error("store failed", metadata: ["host": "\(key)", "error": "\(error)"])
            return .failure(error.description)
        }
    }

    /// Erasing what is not stored succeeds and prints nothing, as docker-credential-secretservice and wincred
    /// do. A failure here is never read as "not logged in": docker-credential-helpers' client wraps erase's
    /// output (`error erasing credentials - err: …, out: …`), so containers/image's not-found check cannot
    /// match it. `podman logout` then fails for a host that is simply not stored — podman 4.3 even overflows
    /// its stack on the error it builds — and `podman logout --all`, which erases every `credHelpers` host,
    /// stops at the first one never logged in to.
    func erase(_ input: [UInt8]) -> Response {
        let url = serverURL(from: input)
        if url.isEmpty { return .failure(Self.missingServerURLMessage) }
        let (parsedKey, failure) = self.key(for: url)
        guard let key = parsedKey else { return failure! }
        do {
            if try resolver.store.erase(key) {
                logger.info("erased credentials", metadata: ["host": "\(key)"])
            } else {
                logger.info("nothing stored to erase", metadata: ["host": "\(key)"])
            }
            return .ok()
        } catch {
            return .failure(error.description)
        }
    }

    func list() -> Response {
        do {
            var entries = [String: String]()
            for material in try resolver.store.list() { entries[material.registry] = material.username }
            return .ok(GoJSON.map(entries) + "\n")
        } catch {
            return .failure(error.description)
        }
    }
}

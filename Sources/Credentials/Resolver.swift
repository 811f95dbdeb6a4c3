package import Logging
package import SystemSupport

/// Answers "which credentials does this registry use", in DESIGN.md's order: a config rule, then the
/// encrypted store, then the provider the host kind implies, then the ambient auth files. A host nobody
/// knows is answered from local files only, with no network call, so a pull from a public registry pays
/// nothing. Not-found is reported only when no source applies; a source that applies and fails reports its
/// cause.
package struct Resolver: Sendable {
    /// The name we are installed under in `credHelpers`/`credsStore` (docker-credential-<name>).
    package static let helperName = "ocicred"
    package static let maxAliasDepth = 4

    package let store: EncryptedStore
    package let authFiles: [String]
    package let environment: OcicredEnvironment
    /// Providers by name ("aws", "gcp", "azure"); `Commands` wires the real ones.
    let providers: [String: any CredentialProvider]
    /// nil when OCICRED_CACHE=off.
    let tokenCache: TokenCache?
    let loadConfig: @Sendable () throws(CredentialError) -> OcicredConfig
    let logger: Logger

    package init(
        environment: OcicredEnvironment, providers: [any CredentialProvider] = [], logger: Logger,
        config: OcicredConfig? = nil
    ) {
        store = EncryptedStore(directory: environment.storeDirectory, keyFile: environment.keyFile)
        authFiles = environment.ambientAuthFiles
        self.environment = environment
        self.providers = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        tokenCache =
            environment.tokenCacheEnabled
            ? TokenCache(file: environment.tokenCacheFile, keyFile: environment.keyFile) : nil
        if let config {
            loadConfig = { config }
        } else {
            loadConfig = { () throws(CredentialError) in try ConfigLoader.load(environment: environment) }
        }
        self.logger = logger
    }

    package init(store: EncryptedStore, authFiles: [String], logger: Logger) {
        self.init(
            environment: OcicredEnvironment(["OCICRED_CACHE": "off"]), logger: logger, config: OcicredConfig(),
            store: store, authFiles: authFiles)
    }

    init(
        environment: OcicredEnvironment, logger: Logger, config: OcicredConfig, store: EncryptedStore,
        authFiles: [String]
    ) {
        self.store = store
        self.authFiles = authFiles
        self.environment = environment
        providers = [:]
        tokenCache = nil
        loadConfig = { config }
        self.logger = logger
    }

    /// What answering a key takes: either the answer, found in local files (config, store, token cache, auth
    /// files) with no network and no async machinery, or a mint by a provider. The credential-helper `get`
    /// calls this synchronously and starts the async runtime only for `.mint`, because podman pays the
    /// start-up of every helper call.
    package enum Plan: Sendable {
        case answer(Credential)
        case mint(Mint)
    }

    /// A pending mint: who mints, for what, and what to fall back to when the provider has no source.
    package struct Mint: Sendable {
        let provider: any CredentialProvider
        let request: MintRequest
        let key: CredentialKey
        /// Minting because of the host kind alone (no rule, no stored material): a provider without any
        /// source then falls back to the auth files instead of failing.
        let byHostKind: Bool
    }

    package func resolve(_ key: CredentialKey) async throws(CredentialError) -> Credential {
        switch try plan(key) {
        case .answer(let credential): return credential
        case .mint(let mint): return try await execute(mint)
        }
    }

    package func plan(_ key: CredentialKey) throws(CredentialError) -> Plan {
        try plan(key, asked: key, depth: 0)
    }

    private func plan(_ key: CredentialKey, asked: CredentialKey, depth: Int) throws(CredentialError) -> Plan {
        guard depth <= Self.maxAliasDepth else { throw .aliasLoop(host: asked.host) }
        let rule = try loadConfig().rule(for: key.host)
        if let alias = rule?.alias {
            guard let target = try? CredentialKey(serverURL: alias) else { throw .aliasLoop(host: asked.host) }
            logger.debug("following config alias", metadata: ["host": "\(key)", "alias": "\(target)"])
            return try plan(target, asked: asked, depth: depth + 1)
        }
        if let rule, rule.provider == .static { return .answer(try staticCredential(rule: rule, host: key.host)) }

        let stored = try storedMaterial(for: key)
        let kind = HostKind.classify(host: key.host)
        if let rule, let choice = rule.provider {
            let material = stored?.material.type.rawValue == choice.rawValue ? stored?.material : nil
            return try mintPlan(
                provider: choice.rawValue, key: key, byHostKind: false,
                MintRequest(
                    host: key.host, kind: kind, material: material, identity: rule.identity,
                    environment: environment))
        }
        if let stored {
            if let (username, secret) = stored.material.staticCredential() {
                logger.debug("credentials found", metadata: ["host": "\(key)", "source": "\(stored.path)"])
                return .answer(Credential(username: username, secret: secret, source: .store(path: stored.path)))
            }
            return try mintPlan(
                provider: stored.material.type.rawValue, key: key, byHostKind: false,
                MintRequest(host: key.host, kind: kind, material: stored.material, environment: environment))
        }
        if kind.isMinted {
            return try mintPlan(
                provider: Self.providerName(for: kind), key: key, byHostKind: true,
                MintRequest(host: key.host, kind: kind, environment: environment))
        }
        if let credential = ambientCredential(for: key) { return .answer(credential) }
        throw .notFound(host: key.description)
    }

    /// A mint plan, or the answer straight from the token cache when it holds a token that is not due.
    private func mintPlan(provider name: String, key: CredentialKey, byHostKind: Bool, _ request: MintRequest)
        throws(CredentialError) -> Plan
    {
        guard let provider = providers[name] else {
            if byHostKind, let credential = ambientCredential(for: key) { return .answer(credential) }
            throw .providerUnavailable(type: name, host: request.host)
        }
        if let tokenCache,
            let token = tokenCache.cached(registry: request.host, identity: request.tokenCacheScope(provider))
        {
            return .answer(
                Credential(
                    username: token.username, secret: token.secret, expiresAt: token.expiresAt,
                    source: .provider(name: name)))
        }
        return .mint(Mint(provider: provider, request: request, key: key, byHostKind: byHostKind))
    }

    /// Runs a mint plan: through the shared token cache (one process mints, every other reads its result).
    package func execute(_ plan: Mint) async throws(CredentialError) -> Credential {
        let provider = plan.provider
        let request = plan.request
        let token: MintedToken
        do {
            if let tokenCache {
                token = try await tokenCache.token(registry: request.host, identity: request.tokenCacheScope(provider))
                {
                    () async throws(CredentialError) -> MintedToken in
                    try await Self.mint(provider, request)
                }
            } else {
                token = try await Self.mint(provider, request)
            }
        } catch .provider(let error) {
            guard plan.byHostKind, case .noSource = error else { throw .provider(error) }
            // Nothing to mint from: an auth file may still know the host, and public images on GCR, AR, ACR or
            // ECR Public pull anonymously after a not-found, so only a private ECR host reports the cause.
            if let credential = ambientCredential(for: plan.key) { return credential }
            logger.warning("no credentials", metadata: ["host": "\(plan.key)", "cause": "\(error)"])
            if case .ecrPrivate = request.kind { throw .provider(error) }
            throw .notFound(host: plan.key.description)
        } catch {
            throw error
        }
        logger.debug("credentials minted", metadata: ["host": "\(request.host)", "provider": "\(provider.name)"])
        return Credential(
            username: token.username, secret: token.secret, expiresAt: token.expiresAt,
            source: .provider(name: provider.name))
    }

    static func providerName(for kind: HostKind) -> String {
        switch kind {
        case .ecrPrivate, .ecrPublic: return "aws"
        case .gcr, .artifactRegistry: return "gcp"
        case .acr: return "azure"
        default: return kind.providerName
        }
    }

    private func storedMaterial(for key: CredentialKey) throws(CredentialError) -> (
        material: CredentialMaterial, path: String
    )? {
        for candidate in key.lookupOrder {
            if let found = try store.material(for: candidate) { return found }
        }
        return nil
    }

    private static func mint(_ provider: any CredentialProvider, _ request: MintRequest) async throws(CredentialError)
        -> MintedToken
    {
        do throws(ProviderError) {
            return try await provider.mint(request)
        } catch {
            throw .provider(error)
        }
    }

    /// `provider: static`: the named environment variables, read as credential material (so well-known names
    /// like NGC_API_KEY or GITHUB_TOKEN pick their conventional usernames), else positionally as
    /// [username, secret].
    func staticCredential(rule: RegistryRule, host: String) throws(CredentialError) -> Credential {
        var values = [String: JSONValue]()
        var ordered = [String]()
        for name in rule.credentialVariables {
            guard let value = environment[name] else {
                throw .variableMissing(host: host, variable: name, rule: rule.location)
            }
            values[name] = .string(value)
            ordered.append(value)
        }
        let source = CredentialSource.environment(variables: rule.credentialVariables)
        if let material = try? CredentialMaterial.fromObject(values, registry: host),
            let (username, secret) = material.staticCredential()
        {
            return Credential(username: username, secret: secret, source: source)
        }
        if ordered.count == 2 { return Credential(username: ordered[0], secret: Secret(ordered[1]), source: source) }
        if ordered.count == 1, case .ngc = HostKind.classify(host: host) {
            return Credential(username: "$oauthtoken", secret: Secret(ordered[0]), source: source)
        }
        throw .provider(
            .misconfigured(
                provider: "static",
                detail: "the rule at \(rule.location) must name two "
                    + "variables, [USERNAME_VARIABLE, SECRET_VARIABLE], or one well-known key such as NGC_API_KEY"))
    }

    private func ambientCredential(for key: CredentialKey) -> Credential? {
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
        return nil
    }
}

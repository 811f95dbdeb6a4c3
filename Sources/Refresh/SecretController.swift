internal import Credentials
internal import Kubernetes
internal import Logging
internal import SystemSupport

/// Keeps one Secret output true in the cluster between renewals, as a controller: it lists then watches the
/// namespaces, the ServiceAccounts the output names (or all of them) and the Secrets it owns, keeps them in a
/// cache, and reacts to each change within moments — a new namespace gets its Secret and patched
/// ServiceAccounts, a deleted, edited or retyped Secret is restored, a stripped ServiceAccount gets its entry back.
/// Between renewals it sends nothing but its watches; at a renewal it writes each Secret whose content changed,
/// once, with the watched resourceVersion as precondition (no read first).
///
/// Ownership: a Secret is ours only when it carries the managed-by label. One of our name without it belongs to
/// someone else: reported once (log, metric) and left as it is. Of a ServiceAccount's `imagePullSecrets` only our
/// own entry is ever added or removed.
actor SecretController {
    /// What the Secret should hold: set at each renewal by `SecretOutput.write`.
    struct Content: Sendable, Equatable {
        var dockerConfigJSON: [UInt8]
        var annotations: [String: String]
    }

    enum Failure: Error, CustomStringConvertible {
        case writesFailed(output: String, namespaces: [String])
        var description: String {
            switch self {
            case .writesFailed(let output, let namespaces):
                return "\(output): writing failed in \(namespaces.joined(separator: ", ")) (see the log lines before)"
            }
        }
    }

    let config: RefreshConfig.SecretOutput
    let client: KubernetesClient
    let elector: LeaderElector?
    let status: RefreshStatus
    let logger: Logger
    private var content: Content?
    /// Namespace name → its labels.
    private var namespaces = [String: [String: String]]()
    /// Namespace → our Secret there, as last watched (or as our own write returned it).
    private var secrets = [String: [String: JSONValue]]()
    /// "namespace/name" → a ServiceAccount the output names.
    private var accounts = [String: WatchedServiceAccount]()
    /// Namespaces whose Secret of our name is someone else's; cleared at each renewal to look again.
    private var conflicts = Set<String>()
    /// Conflicts already reported, so each is reported once.
    private var reportedConflicts = Set<String>()
    private var unsynced: Set<WatchQuery>
    /// Namespaces waiting for the running reconcile, and whether one runs.
    private var dirty = Set<String>()
    private var draining = false
    private var tasks = [Task<Void, Never>]()

    init(
        config: RefreshConfig.SecretOutput, client: KubernetesClient, elector: LeaderElector?, status: RefreshStatus,
        logger: Logger
    ) {
        self.config = config
        self.client = client
        self.elector = elector
        self.status = status
        self.logger = logger
        unsynced = Set(Self.queries(config))
    }

    var outputName: String { "secret/" + config.name }
    static var ownership: [String: String] { [KubernetesClient.managedByKey: KubernetesClient.managedByValue] }

    /// Namespaces; our Secrets; the ServiceAccounts by name (one watch each, so RBAC can grant them by name), or all.
    static func queries(_ config: RefreshConfig.SecretOutput) -> [WatchQuery] {
        let label = KubernetesClient.managedByKey + "=" + KubernetesClient.managedByValue
        var queries: [WatchQuery] = [.namespaces, .ownedSecrets(named: config.name, label: label)]
        if config.allServiceAccounts {
            queries.append(.serviceAccounts(named: nil))
        } else {
            queries += config.serviceAccounts.map { WatchQuery.serviceAccounts(named: $0) }
        }
        return queries
    }

    func start() {
        for query in Self.queries(config) {
            let reflector = Reflector(client: client, query: query, logger: logger) {
                WatchedObject($0, resource: query.resource)
            }
            status.setWatch(query.description, problem: "not established yet")
            tasks.append(TaskPlacement.task { await reflector.run { change in await self.apply(change, from: query) } })
        }
    }

    /// Stops watching and lets go of the cache at once: a reload starts the next controller before the plan
    /// holding this one is dropped, and two caches of a large cluster at once are the refresh's peak memory.
    func stop() {
        for task in tasks { task.cancel() }
        tasks = []
        status.removeWatches(Self.queries(config).map(\.description))
        namespaces = [:]
        secrets = [:]
        accounts = [:]
        unsynced = Set(Self.queries(config))
    }

    /// The output left the config (a reload): with `prune`, every Secret it wrote and every `imagePullSecrets`
    /// entry it added goes, so a config change leaves no stale credential behind. Only the leader removes.
    func removeEverything() async {
        guard config.prune else { return }
        if let elector, await !elector.isLeader { return }
        guard unsynced.isEmpty else {
            logger.warning("the output was removed before its watches listed; what it wrote stays", metadata: [:])
            return
        }
        content = nil
        for namespace in Set(secrets.keys).union(
            accounts.keys.compactMap { $0.split(separator: "/").first.map(String.init) }
        )
        .sorted() {
            _ = await uninstall(from: namespace)
        }
    }

    /// New content (a renewal, or leadership gained): every selected namespace is brought to it. Before every
    /// watch has listed, it is kept and written once they have.
    func update(_ content: Content) async throws -> Bool {
        self.content = content
        conflicts = []
        if let elector, await !elector.isLeader { return false }
        guard unsynced.isEmpty else { return true }
        let failed = await reconcile(Array(namespaces.keys))
        guard failed.isEmpty else { throw Failure.writesFailed(output: outputName, namespaces: failed) }
        return true
    }

    func apply(_ change: Reflector<WatchedObject>.Change, from query: WatchQuery) async {
        // A change still in flight when `stop` cancelled its watch: the cache is gone, and so is the need.
        guard !tasks.isEmpty else { return }
        let started = ContinuousClock.now
        var touched = [String]()
        switch change {
        case .established:
            status.setWatch(query.description, problem: nil)
            return
        case .lost(let reason):
            status.setWatch(query.description, problem: reason)
            status.recordWatchRestart(resource: query.resource, reason: "failed")
            return
        case .relisted:
            status.recordWatchRestart(resource: query.resource, reason: "expired")
            return
        case .replaced(let items):
            replace(items, from: query)
            unsynced.remove(query)
            touched = Array(namespaces.keys)
        case .upserted(let object):
            touched = store(object, present: true)
        case .deleted(let object):
            touched = store(object, present: false)
        }
        guard unsynced.isEmpty, content != nil else { return }
        _ = await reconcile(touched)
        status.observeReconcile(ContinuousClock.now - started)
    }

    /// The cache of `query`'s kind after a list: what the list holds, nothing else.
    private func replace(_ items: [WatchedObject], from query: WatchQuery) {
        switch query.resource {
        case "namespaces": namespaces = [:]
        case "secrets": secrets = [:]
        default:
            let named = query.fieldSelector.map { String($0.dropFirst("metadata.name=".count)) }
            accounts = accounts.filter { named != nil && $0.value.name != named }
        }
        for item in items { _ = store(item, present: true) }
    }

    /// Records one object (or its deletion); returns the namespace it concerns.
    private func store(_ object: WatchedObject, present: Bool) -> [String] {
        switch object {
        case .namespace(let name, let labels):
            namespaces[name] = present ? labels : nil
            return [name]
        case .secret(let namespace, let secret):
            secrets[namespace] = present ? secret : nil
            if present { conflicts.remove(namespace) }
            return [namespace]
        case .serviceAccount(let account):
            accounts[account.key] = present ? account : nil
            return [account.namespace]
        }
    }

    /// Brings each namespace to the config; returns those where a write failed. One namespace at a time: the
    /// actor is reentrant at every API call, and a second reconcile reading the cache while the first one's write
    /// is in flight would write again (a duplicate create, a patch with a stale resourceVersion). Namespaces
    /// touched meanwhile join the queue of the reconcile already running.
    private func reconcile(_ touched: [String]) async -> [String] {
        guard content != nil else { return [] }
        if let elector, await !elector.isLeader { return [] }
        dirty.formUnion(touched)
        guard !draining else { return [] }
        draining = true
        defer { draining = false }
        var failed = [String]()
        while let namespace = dirty.min() {
            dirty.remove(namespace)
            guard let content else { break }
            let ok: Bool
            if let labels = namespaces[namespace],
                config.selects(namespace, labels: labels, home: client.config.namespace)
            {
                ok = await install(in: namespace, content)
            } else if config.prune, namespaces[namespace] != nil {
                ok = await uninstall(from: namespace)
            } else {
                ok = true
            }
            if !ok { failed.append(namespace) }
        }
        status.setManaged(output: outputName, kind: "secret", count: secrets.count)
        status.setManaged(
            output: outputName, kind: "serviceaccount",
            count: accounts.values.filter { $0.pullSecrets.contains(config.name) }.count)
        return failed
    }

    private func install(in namespace: String, _ content: Content) async -> Bool {
        var ok = true
        if !conflicts.contains(namespace) {
            do {
                try await writeSecret(in: namespace, content)
            } catch .conflict {
                logger.debug("secret changed meanwhile; acting on the watch's next event", metadata: meta(namespace))
            } catch {
                ok = false
                logger.error("writing the secret failed", metadata: meta(namespace, error))
            }
        }
        for (key, account) in accounts where key.hasPrefix(namespace + "/") {
            do {
                if let patched = try await client.setImagePullSecret(
                    account.object, secretName: config.name, present: true)
                {
                    accounts[key] = WatchedServiceAccount(patched)
                    logger.info("service account patched", metadata: ["serviceaccount": "\(key)"])
                }
            } catch .conflict, .notFound {
                // The watch delivers the newer ServiceAccount (or its deletion); the next event decides.
            } catch {
                ok = false
                logger.error("patching the service account failed", metadata: meta(namespace, error))
            }
        }
        return ok
    }

    private func writeSecret(in namespace: String, _ content: Content) async throws(KubernetesError) {
        if let current = secrets[namespace] {
            if current["type"]?.stringValue != KubernetesClient.dockerConfigJSONType {
                // Ours by its label, but retyped (the type is immutable): only a new object can be right again.
                try await client.deleteSecret(namespace: namespace, name: config.name)
                secrets[namespace] = nil
                logger.notice("secret had another type; recreating it", metadata: meta(namespace))
                try await create(in: namespace, content)
            } else if let restored = KubernetesClient.restored(
                current, dockerConfigJSON: content.dockerConfigJSON, labels: Self.ownership,
                annotations: content.annotations)
            {
                secrets[namespace] = WatchedObject.kept(secret: try await client.replaceWatchedSecret(restored))
                logger.info("secret written", metadata: meta(namespace).merging(["outcome": "updated"]) { $1 })
            }
            return
        }
        try await create(in: namespace, content)
    }

    private func create(in namespace: String, _ content: Content) async throws(KubernetesError) {
        do {
            secrets[namespace] = WatchedObject.kept(
                secret: try await client.createDockerConfigSecret(
                    namespace: namespace, name: config.name, dockerConfigJSON: content.dockerConfigJSON,
                    labels: Self.ownership, annotations: content.annotations))
            logger.info("secret written", metadata: meta(namespace).merging(["outcome": "created"]) { $1 })
        } catch .alreadyExists {
            // Ours, not yet delivered by the watch — or someone else's, which is never overwritten.
            guard let existing = try await client.currentSecret(namespace: namespace, name: config.name) else { return }
            if existing.labels[KubernetesClient.managedByKey] == KubernetesClient.managedByValue {
                secrets[namespace] = WatchedObject.kept(secret: existing)
                try await writeSecret(in: namespace, content)
                return
            }
            conflicts.insert(namespace)
            if reportedConflicts.insert(namespace).inserted {
                status.recordConflict(output: outputName)
                do {
                    try await client.recordEvent(
                        about: "Secret", namespace: namespace, name: config.name,
                        uid: existing["metadata"]?["uid"]?.stringValue, type: "Warning", reason: "NotOwned",
                        message: "ocicred did not create this Secret (it has no \(KubernetesClient.managedByKey)="
                            + "\(KubernetesClient.managedByValue) label) and leaves it untouched")
                } catch {
                    logger.debug("cannot record the event", metadata: meta(namespace, error))
                }
                logger.warning(
                    """
                    a secret of this name exists without the \(KubernetesClient.managedByKey) label; it is not \
                    ocicred's and is left untouched: rename the output's secret, or delete or label that one
                    """, metadata: meta(namespace))
            }
        } catch .notFound {
            // The namespace is going away; its deletion event follows.
        }
    }

    /// The namespace left the selection: what this output wrote there goes.
    private func uninstall(from namespace: String) async -> Bool {
        var ok = true
        if secrets[namespace] != nil {
            do {
                try await client.deleteSecret(namespace: namespace, name: config.name)
                secrets[namespace] = nil
                logger.notice("namespace left the selection; secret removed", metadata: meta(namespace))
            } catch {
                ok = false
                logger.error("removing the secret failed", metadata: meta(namespace, error))
            }
        }
        for (key, account) in accounts where key.hasPrefix(namespace + "/") {
            do {
                if let patched = try await client.setImagePullSecret(
                    account.object, secretName: config.name, present: false)
                {
                    accounts[key] = WatchedServiceAccount(patched)
                }
            } catch .conflict, .notFound {
            } catch {
                ok = false
                logger.error("unpatching the service account failed", metadata: meta(namespace, error))
            }
        }
        return ok
    }

    private func meta(_ namespace: String, _ error: (any Error)? = nil) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["secret": "\(namespace)/\(config.name)"]
        if let error { metadata["error"] = "\(error)" }
        return metadata
    }
}

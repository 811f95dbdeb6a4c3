public import Credentials
import Foundation
import Kubernetes
public import Logging
public import SystemSupport

/// What `ocicred refresh` was asked on the command line; outputs named here are added to the config's.
public struct RefreshOptions: Sendable {
    public var once = false
    public var listen: String?
    public var authFile: String?
    public var format: AuthFileFormat = .containers
    public var secretName: String?
    public var secretNamespaces: [String] = []
    public var serviceAccounts: [String] = []
    public var leaseName: String?
    public var identity: String?
    /// Shown in the `ocicred_build_info` metric.
    public var version = "unknown"
    /// With `once`: what the pass did, for the command to print (one line per output written, one per failure).
    public var onceReport: @Sendable (RefreshEngine.StepReport) -> Void = { _ in }
    public init() {}
}

/// The entry point of `ocicred refresh`: builds outputs from config and flags, runs the engine once or as a
/// loop that sleeps until the next due time or a signal, and serves health. Returns the exit status.
public enum RefreshService {
    public typealias MakeResolver = @Sendable (OcicredConfig) -> Resolver

    public static func run(
        options: RefreshOptions, environment: OcicredEnvironment, makeResolver: @escaping MakeResolver, logger: Logger
    ) async -> Int32 {
        let events = RefreshEvents()
        if !options.once { SignalForwarder.start(into: events) }
        let loaded: (OcicredConfig, RefreshConfig)
        do {
            loaded = try RefreshConfig.load(environment: environment)
        } catch {
            logger.error("cannot load the config", metadata: ["error": "\(error)"])
            return 2
        }
        var client: KubernetesClient?
        var elector: LeaderElector?
        let needsKubernetes = options.secretName != nil || loaded.1.outputs.contains {
            if case .secret = $0 { return true } else { return false }
        }
        if needsKubernetes {
            do {
                let made = try KubernetesClient.fromEnvironment(environment, logger: logger)
                client = made
                if let lease = options.leaseName, !options.once {
                    let identity =
                        options.identity ?? environment["POD_NAME"] ?? (ProcessInfo.processInfo.hostName + "-\(getpid())")
                    elector = LeaderElector(client: made, namespace: made.config.namespace, name: lease, identity: identity)
                }
            } catch {
                logger.error("cannot reach Kubernetes for the Secret outputs", metadata: ["error": "\(error)"])
                return 2
            }
        }
        let setup: (outputs: [any RefreshOutput], policy: RefreshPolicy)
        do {
            setup = try plan(loaded, options: options, environment: environment, client: client, elector: elector, logger: logger)
        } catch {
            logger.error("nothing to refresh", metadata: ["error": "\(error)"])
            return 2
        }
        let engine = RefreshEngine(
            outputs: setup.outputs, policy: setup.policy,
            resolve: resolver(makeResolver(loaded.0), environment: environment),
            status: RefreshStatus(version: options.version), events: events, logger: logger)

        if options.once {
            // One pass, nothing retried: the report is the whole story, so the engine keeps its failure logs
            // (and their "retry in") to debug.
            await engine.setReportsFailures(false)
            let report = await engine.step()
            options.onceReport(report)
            return report.failed ? 1 : 0
        }

        var server: HealthServer?
        if let listen = options.listen {
            do {
                server = try await HealthServer.start(address: listen, status: engine.status)
            } catch {
                logger.error("cannot serve health", metadata: ["listen": "\(listen)", "error": "\(error)"])
                return 2
            }
        }
        var leaderTask: Task<Void, Never>?
        if let elector {
            leaderTask = Task {
                while !Task.isCancelled {
                    let was = await elector.isLeader
                    var now = false
                    do {
                        now = try await elector.tryAcquireOrRenew()
                    } catch {
                        logger.warning("leader election round failed", metadata: ["lease": "\(elector.name)", "error": "\(error)"])
                    }
                    if now && !was {
                        logger.notice("leading: this replica writes the Secrets", metadata: ["lease": "\(elector.name)"])
                        events.post(.leadershipGained)
                    }
                    try? await Task.sleep(for: LeaderElector.defaultRetryPeriod)
                }
            }
        }
        _ = await events.cancellingOnTermination { await engine.step() }
        logger.notice("refresh running", metadata: ["outputs": "\(setup.outputs.map(\.name))"])
        loop: while true {
            // About to idle, likely for hours: give back the code pages the pass ran (see StartupCode). As a task
            // of its own it runs once this one waits, so the code of going to sleep is given back too (~130 KiB).
            Task { StartupCode.release() }
            let event = await events.next(until: await engine.nextWake)
            switch event {
            case nil:
                _ = await events.cancellingOnTermination { await engine.step() }
            case .leadershipGained:
                _ = await events.cancellingOnTermination { await engine.writeAll() }
            case .reload:
                do {
                    let reloaded = try RefreshConfig.load(environment: environment)
                    let next = try plan(
                        reloaded, options: options, environment: environment, client: client, elector: elector,
                        logger: logger)
                    await engine.reconfigure(
                        outputs: next.outputs, policy: next.policy,
                        resolve: resolver(makeResolver(reloaded.0), environment: environment))
                    logger.notice("config reloaded", metadata: ["outputs": "\(next.outputs.map(\.name))"])
                    engine.status.recordReload(succeeded: true)
                    _ = await events.cancellingOnTermination { await engine.step() }
                } catch {
                    logger.error("config reload failed; keeping the previous config", metadata: ["error": "\(error)"])
                    engine.status.recordReload(succeeded: false)
                }
            case .terminate:
                break loop
            }
        }
        leaderTask?.cancel()
        if let elector { try? await elector.release() }
        await server?.stop()
        logger.notice("refresh stopped")
        return 0
    }

    /// Forces a fresh mint by forgetting the shared cache's entry first: the cache would otherwise hand back the
    /// token being replaced until its own refreshAt, which jitter may put a little later than ours.
    static func resolver(_ resolver: Resolver, environment: OcicredEnvironment) -> RefreshEngine.Resolve {
        { registry, force in
            let key = try CredentialKey(serverURL: registry)
            if force, environment.tokenCacheEnabled {
                try? await TokenCache(file: environment.tokenCacheFile, keyFile: environment.keyFile)
                    .invalidate(registry: key.host)
            }
            return try await resolver.resolve(key)
        }
    }

    enum NothingToWrite: Error, CustomStringConvertible {
        /// No output anywhere: not in the config, not as a flag, not as REGISTRY_AUTH_FILE.
        case noOutputs
        /// Outputs given (`output` names them) but every rule's host is a wildcard, so they have no registry to
        /// write; the wildcards are named.
        case onlyWildcards(output: String, patterns: [String])

        var description: String {
            switch self {
            case .noOutputs:
                return "no outputs: add `refresh: {outputs: [...]}` to the config, or pass --authfile, set "
                    + "REGISTRY_AUTH_FILE, or pass --secret-name"
            case .onlyWildcards(let output, let patterns):
                return "\(output) has no registry to write: every rule's host is a pattern ("
                    + patterns.joined(separator: ", ") + "); list the hosts under the output's `registries:` in "
                    + "`refresh: outputs:`, or add a rule with the exact host"
            }
        }
    }

    /// The outputs of the config plus those the flags name; flags write every exact host of the rules.
    static func plan(
        _ loaded: (OcicredConfig, RefreshConfig), options: RefreshOptions, environment: OcicredEnvironment,
        client: KubernetesClient?, elector: LeaderElector?, logger: Logger
    ) throws -> (outputs: [any RefreshOutput], policy: RefreshPolicy) {
        let (config, refresh) = loaded
        var outputs = refresh.outputs
        let exactHosts = config.rules.filter(\.pattern.isExact).map(\.pattern.text)
        let authFile = options.authFile ?? (outputs.isEmpty && options.secretName == nil ? environment["REGISTRY_AUTH_FILE"] : nil)
        if exactHosts.isEmpty, let named = authFile.map({ "the auth file \($0)" }) ?? options.secretName.map({ "the Secret \($0)" }) {
            throw NothingToWrite.onlyWildcards(output: named, patterns: config.rules.map(\.pattern.text))
        }
        if let authFile {
            outputs.append(.authFile(.init(path: authFile, format: options.format, registries: exactHosts)))
        }
        if let name = options.secretName {
            outputs.append(
                .secret(.init(name: name, namespaces: options.secretNamespaces, serviceAccounts: options.serviceAccounts,
                    registries: exactHosts)))
        }
        guard !outputs.isEmpty else { throw NothingToWrite.noOutputs }
        var made = [any RefreshOutput]()
        for output in outputs {
            switch output {
            case .authFile(let file):
                made.append(AuthFileOutput(path: file.path, format: file.format, registries: file.registries))
            case .secret(let secret):
                guard let client else { throw NothingToWrite.noOutputs }
                made.append(SecretOutput(config: secret, client: client, elector: elector, logger: logger))
            }
        }
        let defaults = RefreshPolicy()
        let policy = RefreshPolicy(
            minInterval: refresh.minInterval ?? defaults.minInterval,
            retryInitial: refresh.retryInitial ?? defaults.retryInitial, retryMax: refresh.retryMax ?? defaults.retryMax)
        return (made, policy)
    }
}

package import Credentials
internal import FoundationEssentials
internal import Kubernetes
package import Logging
package import SystemSupport

/// What `ocicred refresh` was asked on the command line; outputs named here are added to the config's.
package struct RefreshOptions: Sendable {
    package var once = false
    package var listen: String?
    package var authFile: String?
    package var format: AuthFileFormat = .containers
    package var secretName: String?
    package var secretNamespaces: [String] = []
    package var serviceAccounts: [String] = []
    package var leaseName: String?
    package var identity: String?
    /// Shown in the `ocicred_build_info` metric.
    package var version = "unknown"
    /// With `once`: what the pass did, for the command to print (one line per output written, one per failure).
    package var onceReport: @Sendable (RefreshEngine.StepReport) -> Void = { _ in }
    package init() {}
}

/// The entry point of `ocicred refresh`: builds outputs from config and flags, runs the engine once or as a
/// loop that sleeps until the next due time or a signal, and serves health. Returns the exit status.
package enum RefreshService {
    package typealias MakeResolver = @Sendable (OcicredConfig) -> Resolver

    package static func run(
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
        let cluster: Cluster
        do {
            cluster = try Cluster.connect(for: loaded.1, options: options, environment: environment, logger: logger)
        } catch {
            logger.error("cannot reach Kubernetes for the Secret outputs", metadata: ["error": "\(error)"])
            return 2
        }
        let status = RefreshStatus(version: options.version)
        let setup: RefreshPlan
        do {
            setup = try RefreshPlan.make(
                loaded, options: options, environment: environment, cluster: cluster, status: status, logger: logger)
        } catch {
            logger.error("nothing to refresh", metadata: ["error": "\(error)"])
            return 2
        }
        let engine = RefreshEngine(
            outputs: setup.outputs, policy: setup.policy,
            resolve: resolver(makeResolver(loaded.0), environment: environment), status: status, events: events,
            logger: logger)
        if options.once {
            // One pass, nothing retried: the report is the whole story, so the engine keeps its failure logs
            // (and their "retry in") to debug.
            await engine.setReportsFailures(false)
            let report = await engine.step()
            options.onceReport(report)
            return report.failed ? 1 : 0
        }
        if !AllocatorPolicy.limitArenas(to: Self.allocatorArenas) {
            logger.debug("the allocator kept its default arenas")
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
        let leaderTask = cluster.elector.map { elect($0, events: events, logger: logger) }
        await setup.start()
        let running = await loop(
            engine: engine, setup: setup, events: events, cluster: cluster, options: options, environment: environment,
            makeResolver: makeResolver, logger: logger)
        await running.stop()
        leaderTask?.cancel()
        if let elector = cluster.elector { try? await elector.release() }
        await server?.stop()
        logger.notice("refresh stopped")
        return 0
    }

    /// A long-lived controller needs no more: its work is small and rarely concurrent (see `AllocatorPolicy`).
    static let allocatorArenas = 2

    /// Tries for the Lease every retry period; a replica that becomes leader posts `.leadershipGained`.
    static func elect(_ elector: LeaderElector, events: RefreshEvents, logger: Logger) -> Task<Void, Never> {
        TaskPlacement.task {
            while !Task.isCancelled {
                let was = await elector.isLeader
                var now = false
                do {
                    now = try await elector.tryAcquireOrRenew()
                } catch {
                    logger.warning(
                        "leader election round failed", metadata: ["lease": "\(elector.name)", "error": "\(error)"])
                }
                if now && !was {
                    logger.notice("leading: this replica writes the Secrets", metadata: ["lease": "\(elector.name)"])
                    events.post(.leadershipGained)
                }
                await TaskPlacement.sleep(for: LeaderElector.defaultRetryPeriod)
            }
        }
    }

    /// The event loop: a renewal when the schedule says, a write of everything on leadership, a reload on SIGHUP,
    /// until SIGTERM. Returns the plan running at the end (a reload replaces it), for the caller to stop.
    static func loop(
        engine: RefreshEngine, setup: RefreshPlan, events: RefreshEvents, cluster: Cluster, options: RefreshOptions,
        environment: OcicredEnvironment, makeResolver: @escaping MakeResolver, logger: Logger
    ) async -> RefreshPlan {
        var running = setup
        _ = await events.cancellingOnTermination { await engine.step() }
        logger.notice("refresh running", metadata: ["outputs": "\(setup.outputs.map(\.name))"])
        while true {
            // About to idle, likely for hours: give back the code pages the pass ran (see StartupCode). As a task
            // of its own it runs once this one waits, so the code of going to sleep is given back too (~130 KiB).
            TaskPlacement.task { StartupCode.release() }
            switch await events.next(until: await engine.nextWake) {
            case nil:
                _ = await events.cancellingOnTermination { await engine.step() }
            case .leadershipGained:
                _ = await events.cancellingOnTermination { await engine.writeAll() }
            case .reload:
                do {
                    let reloaded = try RefreshConfig.load(environment: environment)
                    let next = try RefreshPlan.make(
                        reloaded, options: options, environment: environment, cluster: cluster, status: engine.status,
                        logger: logger)
                    await running.retire(for: next)
                    await next.start()
                    running = next
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
                return running
            }
        }
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
}

package import Credentials
package import FoundationEssentials
package import Logging
internal import SystemSupport

/// The refresh loop's state and one step of it: resolve what is due, record the outcome in the schedule,
/// write the outputs that hold a changed credential, publish status. I/O (resolve, outputs), the clock and the
/// jitter are injected, so tests drive it with fakes; `RefreshService` owns the sleeping between steps.
package actor RefreshEngine {
    /// Gets a registry's credential; `force` asks for a fresh mint (the cached token is due).
    package typealias Resolve = @Sendable (_ registry: String, _ force: Bool) async throws -> Credential

    private var resolve: Resolve
    private var outputs: [any RefreshOutput]
    private(set) var schedule: RefreshSchedule
    /// The last good credential per registry: kept, and written, until replaced — a provider outage does not
    /// empty an auth file whose token still works.
    private var credentials = [String: Credential]()
    private var outputSucceeded = [String: Bool]()
    private let now: @Sendable () -> Date
    private let jitter: @Sendable () -> Double
    package nonisolated let status: RefreshStatus
    private let events: RefreshEvents?
    private let logger: Logger
    /// `refresh --once` reports every failure itself and will not retry: the engine then logs failures at debug
    /// and never mentions a retry.
    package var reportsFailures = true

    /// What one pass did, for `refresh --once` to print: one line per output written, one per failure.
    package struct StepReport: Sendable {
        package var written: [String] = []
        package var failedRegistries: [(registry: String, reason: String)] = []
        package var failedOutputs: [(output: String, reason: String)] = []
        package var failed: Bool { !failedRegistries.isEmpty || !failedOutputs.isEmpty }
        package var registries: [String] { failedRegistries.map(\.registry) }
        package var outputs: [String] { failedOutputs.map(\.output) }
    }

    package func setReportsFailures(_ value: Bool) { reportsFailures = value }

    package init(
        outputs: [any RefreshOutput], policy: RefreshPolicy, resolve: @escaping Resolve,
        status: RefreshStatus = .init(),
        events: RefreshEvents? = nil, logger: Logger, now: @escaping @Sendable () -> Date = { Date() },
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.outputs = outputs
        self.resolve = resolve
        self.now = now
        self.jitter = jitter
        self.status = status
        self.events = events
        self.logger = logger
        schedule = RefreshSchedule(registries: Self.registries(of: outputs), policy: policy, now: now())
    }

    static func registries(of outputs: [any RefreshOutput]) -> [String] {
        Array(Set(outputs.flatMap(\.registries))).sorted()
    }

    package var nextWake: Date? { schedule.nextWake }
    package var scheduleEntries: [String: RefreshSchedule.Entry] { schedule.entries }
    package func credential(for registry: String) -> Credential? { credentials[registry] }

    /// New outputs, policy and resolver (SIGHUP): every registry is due at once; credentials of registries that
    /// stay are kept as last good until the new pass replaces them.
    package func reconfigure(outputs: [any RefreshOutput], policy: RefreshPolicy, resolve: @escaping Resolve) {
        self.outputs = outputs
        self.resolve = resolve
        let registries = Self.registries(of: outputs)
        schedule = RefreshSchedule(registries: registries, policy: policy, now: now())
        credentials = credentials.filter { registries.contains($0.key) }
        outputSucceeded = [:]
    }

    /// Resolves every due registry and writes the outputs that hold one that changed (and those whose last
    /// write failed). Returns the registries and outputs that failed in this step.
    @discardableResult
    package func step() async -> StepReport {
        let due = schedule.due(at: now())
        var changed = Set<String>()
        var report = StepReport()
        for registry in due {
            if events?.pendingTermination() == true { break }
            let force = schedule.entries[registry]?.hasCredential ?? false
            let started = now()
            do {
                let credential = try await resolve(registry, force)
                credentials[registry] = credential
                schedule.succeeded(registry, issuedAt: started, expiresAt: credential.expiresAt, jitter: jitter())
                changed.insert(registry)
                logger.debug(
                    "credential obtained",
                    metadata: [
                        "registry": "\(registry)", "source": "\(credential.source)",
                        "expiresAt": "\(credential.expiresAt.map { "\($0)" } ?? "never")",
                    ])
            } catch {
                schedule.failed(registry, at: now(), jitter: jitter())
                report.failedRegistries.append((registry, "\(error)"))
                let entry = schedule.entries[registry]
                let kept = schedule.isValid(registry, at: now())
                logger.log(
                    level: reportsFailures ? .warning : .debug,
                    "refreshing \(registry) failed; \(kept ? "the last good credential stays in place" : "no valid credential is left")",
                    metadata: [
                        "error": "\(error)", "retry in": "\(DurationText.format(entry?.backoff ?? 0))",
                    ])
            }
        }
        let written = await writeOutputs { output in
            outputSucceeded[output.name] != true || !changed.isDisjoint(with: output.registries)
        }
        report.written = written.written
        report.failedOutputs = written.failed
        publish(newFailures: report.registries, written: written)
        return report
    }

    /// Writes every output (a new leader writes its Secrets at once).
    @discardableResult
    package func writeAll() async -> StepReport {
        let written = await writeOutputs { _ in true }
        publish(newFailures: [], written: written)
        return StepReport(written: written.written, failedOutputs: written.failed)
    }

    private func writeOutputs(where selected: (any RefreshOutput) -> Bool) async
        -> (written: [String], failed: [(output: String, reason: String)])
    {
        var written = [String]()
        var failed = [(output: String, reason: String)]()
        for output in outputs where selected(output) {
            let subset = credentials.filter { output.registries.contains($0.key) }
            // Nothing obtained yet for this output: there is nothing to write, and it is not ready.
            if subset.isEmpty {
                outputSucceeded[output.name] = outputSucceeded[output.name] ?? nil
                continue
            }
            do {
                let wrote = try await output.write(subset)
                outputSucceeded[output.name] = true
                if wrote {
                    written.append(output.name)
                    logger.info("wrote \(output.name)", metadata: ["registries": "\(subset.keys.sorted())"])
                }
            } catch {
                outputSucceeded[output.name] = false
                failed.append((output.name, "\(error)"))
                logger.log(
                    level: reportsFailures ? .error : .debug, "writing \(output.name) failed",
                    metadata: ["error": "\(error)"])
                // Retried through the schedule, with backoff, like a failed mint.
                for registry in output.registries { schedule.failed(registry, at: now(), jitter: jitter()) }
            }
        }
        return (written, failed)
    }

    private func publish(
        newFailures: [String], written: (written: [String], failed: [(output: String, reason: String)])
    ) {
        status.publish(
            schedule: schedule,
            outputs: outputs.map {
                RefreshStatus.OutputState(
                    name: $0.name, registries: $0.registries, lastWriteSucceeded: outputSucceeded[$0.name])
            }, newFailures: newFailures, written: written.written, failedOutputs: written.failed.map(\.output))
    }
}

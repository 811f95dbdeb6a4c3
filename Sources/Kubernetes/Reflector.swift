internal import Credentials
package import Logging
package import SystemSupport

/// List then watch one `WatchQuery` for as long as its task runs, as client-go's Reflector does: a list gives the
/// whole state, a watch from its resourceVersion every change after; bookmarks move the resume point on; a watch
/// the server ends (its timeout) is resumed from there at once; a 410 means the resume point is gone: list again.
/// A failure (network, 403, a restarted API server) is retried with capped exponential backoff.
///
/// Each object is handed on as `keep` makes it, as it arrives: a cache holds what it needs of each object (a
/// ServiceAccount's pull secrets, not its whole JSON), and a list never holds a thousand parsed objects at once.
package struct Reflector<Item: Sendable>: Sendable {
    package enum Change: Sendable {
        /// The full state after a list: whatever is cached and not in it is gone.
        case replaced([Item])
        case upserted(Item)
        case deleted(Item)
        /// A watch is open: changes arrive from now on.
        case established
        /// No watch is open, and why (the reason names the object kind and the cause, never data).
        case lost(reason: String)
        /// The watch had to start over with a list (410 Gone, or after a failure).
        case relisted
    }

    package let client: KubernetesClient
    package let query: WatchQuery
    let keep: @Sendable ([String: JSONValue]) -> Item?
    let logger: Logger
    /// The first retry after a failure, doubled per failure up to `maximumBackoff`.
    var initialBackoff: Duration = .milliseconds(500)
    var maximumBackoff: Duration = .seconds(30)
    /// How long the server keeps one watch open; client-go picks 5 to 10 minutes at random, so many watchers do
    /// not reconnect in step.
    var timeoutSeconds: @Sendable () -> Int = { Int.random(in: 300...600) }

    package init(
        client: KubernetesClient, query: WatchQuery, logger: Logger,
        keeping keep: @Sendable @escaping ([String: JSONValue]) -> Item?
    ) {
        self.client = client
        self.query = query
        self.keep = keep
        self.logger = logger
    }

    /// Runs until the calling task is cancelled.
    package func run(_ deliver: @Sendable (Change) async -> Void) async {
        var resourceVersion: String?
        var failures = 0
        var listedBefore = false
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    let listed = try await client.list(query, keeping: keep)
                    if listedBefore { await deliver(.relisted) }
                    listedBefore = true
                    await deliver(.replaced(listed.items))
                    resourceVersion = listed.resourceVersion
                }
                var expired = false
                for try await event in client.watch(
                    query, from: resourceVersion ?? "", timeoutSeconds: timeoutSeconds())
                {
                    switch event {
                    case .opened:
                        failures = 0
                        await deliver(.established)
                    case .added(let object), .modified(let object):
                        resourceVersion = object.resourceVersionValue ?? resourceVersion
                        if let item = keep(object) { await deliver(.upserted(item)) }
                    case .deleted(let object):
                        resourceVersion = object.resourceVersionValue ?? resourceVersion
                        if let item = keep(object) { await deliver(.deleted(item)) }
                    case .bookmark(let version):
                        if !version.isEmpty { resourceVersion = version }
                    case .expired(let message):
                        logger.info(
                            "watch expired; listing again", metadata: ["watch": "\(query)", "reason": "\(message)"])
                        expired = true
                    }
                    if expired { break }
                }
                if expired { resourceVersion = nil }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                let wait = backoff(failures)
                await deliver(.lost(reason: "\(error)"))
                logger.warning(
                    "watch failed; retrying",
                    metadata: ["watch": "\(query)", "error": "\(error)", "retry in": "\(wait)"])
                // After a failure the resume point may be long gone; a 410 would tell, but a list is as cheap.
                if case .api? = error as? KubernetesError { resourceVersion = nil }
                await TaskPlacement.sleep(for: wait)
            }
        }
    }

    func backoff(_ failures: Int) -> Duration {
        var wait = initialBackoff
        for _ in 1..<max(failures, 1) where wait < maximumBackoff { wait *= 2 }
        return min(wait, maximumBackoff)
    }
}

extension [String: JSONValue] {
    /// `metadata.resourceVersion`, for those outside this target.
    package var resourceVersionValue: String? { self["metadata"]?["resourceVersion"]?.stringValue }
}

extension [String: JSONValue] {
    /// `metadata.name`, `metadata.namespace` and `metadata.labels` of a watched object.
    package var name: String? { self["metadata"]?["name"]?.stringValue }
    package var namespace: String? { self["metadata"]?["namespace"]?.stringValue }
    package var labels: [String: String] {
        (self["metadata"]?["labels"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }
}

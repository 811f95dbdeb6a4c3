internal import Credentials
package import SystemSupport
internal import Transport

/// List then watch (API concepts, "Efficient detection of changes"): a list gives the state and its
/// resourceVersion, a watch from there gives every change after it as one long chunked response.
extension KubernetesClient {
    /// An event line longer than this is refused: a watch lasts minutes, and what it sends is kept only a line at
    /// a time, never the whole stream.
    static let maximumEventBytes = 4 << 20

    /// Every object the query selects, across pages, and the resourceVersion to watch from.
    package func list(_ query: WatchQuery) async throws(KubernetesError) -> (
        items: [[String: JSONValue]], resourceVersion: String
    ) {
        try await list(query) { $0 }
    }

    /// The same, keeping of each object only what `keep` makes of it, page by page: a long-lived cache of a
    /// thousand objects then never holds them all as parsed JSON at once, only one page.
    package func list<Item>(_ query: WatchQuery, keeping keep: ([String: JSONValue]) -> Item?)
        async throws(KubernetesError) -> (items: [Item], resourceVersion: String)
    {
        var items = [Item]()
        var continueToken: String?
        var version = ""
        repeat {
            var parameters = [("limit", String(listPageSize))]
            if let continueToken { parameters.append(("continue", continueToken)) }
            let list = try await send(query.listCall, "GET", path: query.path(parameters), namespace: nil, name: nil)
            guard case .array(let page)? = list["items"] else {
                throw .invalidResponse(resource: query.resource, reason: "the list has no `items`")
            }
            items += page.lazy.compactMap(\.objectValue).compactMap(keep)
            continueToken = list.metadata["continue"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            if continueToken == nil { version = list.resourceVersion ?? "" }
        } while continueToken != nil
        return (items, version)
    }

    /// The changes after `resourceVersion`, with bookmarks, until the server ends the watch after
    /// `timeoutSeconds` (the stream then finishes) or it fails (the stream throws). Stopping the iteration
    /// closes the connection.
    package func watch(_ query: WatchQuery, from resourceVersion: String, timeoutSeconds: Int)
        -> AsyncThrowingStream<WatchEvent, any Error>
    {
        AsyncThrowingStream { continuation in
            let task = TaskPlacement.task {
                do {
                    try await self.streamEvents(query, resourceVersion, timeoutSeconds) { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func streamEvents(
        _ query: WatchQuery, _ resourceVersion: String, _ timeoutSeconds: Int,
        _ yield: @Sendable (WatchEvent) -> Void
    ) async throws(KubernetesError) {
        assert(KubernetesAPICall.all.contains(query.watchCall), "\(query.watchCall) is missing from the table")
        guard let streaming = http as? any HTTPStreamingClient else {
            throw .configuration("this HTTP client cannot stream, so it cannot watch")
        }
        let path = query.path([
            ("watch", "true"), ("allowWatchBookmarks", "true"), ("resourceVersion", resourceVersion),
            ("timeoutSeconds", String(timeoutSeconds)),
        ])
        var request = HTTPRequest(
            method: "GET", url: config.server + path, headers: [("Accept", "application/json")],
            timeout: .seconds(timeoutSeconds + 30), verifyTLS: !config.insecureSkipTLSVerify, caFile: config.caFile,
            caCertificates: config.caCertificates)
        if let token = try tokens.current() {
            request.headers.append(("Authorization", "Bearer " + token.exposedValue))
        }
        var status = 0
        var pending = [UInt8]()
        do {
            for try await part in streaming.stream(request) {
                switch part {
                case .head(let code, _):
                    status = code
                    if code == 200 { yield(.opened) }
                case .body(let bytes):
                    pending += bytes
                    guard status == 200 else {
                        if pending.count > Self.maximumEventBytes { pending.removeAll() }
                        continue
                    }
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = Array(pending[..<newline])
                        pending.removeSubrange(...newline)
                        if let event = try Self.event(line, resource: query.resource) { yield(event) }
                    }
                    if pending.count > Self.maximumEventBytes {
                        throw KubernetesError.invalidResponse(
                            resource: query.resource,
                            reason: "a watch event is larger than \(Self.maximumEventBytes) bytes")
                    }
                }
            }
        } catch let error as KubernetesError {
            throw error
        } catch let error as HTTPError {
            throw .transport(server: config.server, error)
        } catch {
            throw .invalidResponse(resource: query.resource, reason: "\(error)")
        }
        logger.debug("kubernetes watch ended", metadata: ["resource": "\(query)", "status": "\(status)"])
        if status == 401 { tokens.invalidate() }
        guard status == 200 else {
            throw Self.error(
                for: HTTPResponse(status: status, headers: [], body: pending, url: config.server + path),
                call: query.watchCall, namespace: nil, name: nil, server: config.server)
        }
    }

    /// One event line; nil for a blank line.
    static func event(_ line: [UInt8], resource: String) throws(KubernetesError) -> WatchEvent? {
        guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { return nil }
        let event: [String: JSONValue]
        do {
            event = try JSONValue.parseObject(line)
        } catch {
            throw .invalidResponse(resource: resource, reason: "a watch event is not JSON: \(error)")
        }
        guard let type = event["type"]?.stringValue, let object = event["object"]?.objectValue else {
            throw .invalidResponse(resource: resource, reason: "a watch event without `type` or `object`")
        }
        switch type {
        case "ADDED": return .added(object)
        case "MODIFIED": return .modified(object)
        case "DELETED": return .deleted(object)
        case "BOOKMARK": return .bookmark(resourceVersion: object.resourceVersion ?? "")
        case "ERROR":
            let code = Int(object["code"]?.doubleValue ?? 0)
            let message = String((object["message"]?.stringValue ?? "").prefix(300))
            if code == 410 { return .expired(message: message) }
            throw .api(
                code: code, reason: object["reason"]?.stringValue ?? "ERROR", message: message, verb: "watch",
                resource: resource)
        default:
            throw .invalidResponse(resource: resource, reason: "unknown watch event type \(type)")
        }
    }
}

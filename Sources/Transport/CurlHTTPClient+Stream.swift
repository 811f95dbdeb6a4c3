internal import CCurl
internal import SystemSupport

/// One part of a streamed response: the status and headers first, then the body in the blocks it arrives in.
package enum HTTPStreamPart: Sendable {
    case head(status: Int, headers: [(name: String, value: String)])
    case body([UInt8])
}

/// A client that can hand a response's body over while it is still arriving: a Kubernetes watch is one response
/// that lasts minutes, each line an event that must be acted on at once, not when the response ends.
package protocol HTTPStreamingClient: HTTPClient {
    /// The response to `request` as it arrives; no redirect is followed (a watch is never redirected) and
    /// `maxResponseBytes` does not apply (the reader bounds what it keeps). Ending the iteration, or cancelling
    /// the task iterating, aborts the transfer within curl's progress interval (about a second).
    func stream(_ request: HTTPRequest) -> AsyncThrowingStream<HTTPStreamPart, any Error>
}

extension CurlHTTPClient: HTTPStreamingClient {
    package func stream(_ request: HTTPRequest) -> AsyncThrowingStream<HTTPStreamPart, any Error> {
        AsyncThrowingStream { continuation in
            let task = TaskPlacement.task {
                do {
                    try await self.streamExchange(request) { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func streamExchange(_ request: HTTPRequest, _ yield: @escaping @Sendable (HTTPStreamPart) -> Void)
        async throws(HTTPError)
    {
        let library = try CurlLibrary.load(path: configuration.libraryPath)
        let url = try HTTPURL.forTransport(request.url)
        let host = url.authority
        if Task.isCancelled { throw .cancelled(host: host) }
        let handle = try checkOut(library, host: host)
        defer { checkIn(handle) }
        let transfer = CurlTransfer(library: library, handle: handle.handle, limit: request.maxResponseBytes)
        transfer.sink = yield
        try transfer.configure(
            request, url: url, timeout: request.timeout, connectTimeout: request.connectTimeout,
            configuration: configuration)
        let outcome = await transfer.perform()
        guard outcome.code == CURLE_OK else {
            throw Self.failure(outcome, of: transfer, request, url: url, library: library, exceededLimit: false)
        }
        transfer.deliverHead()
    }
}

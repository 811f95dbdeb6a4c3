internal import CCurl
internal import Synchronization
internal import SystemSupport

/// The production `HTTPClient`: libcurl (loaded on the first request, see `CurlLibrary`) for the connection, TLS
/// with the system CA store, proxies and HTTP/2; our own `RedirectPolicy` for redirects.
///
/// Each exchange runs curl_easy_perform on a thread of its own and suspends the caller meanwhile. Easy handles
/// are kept between requests (reset, not freed), which keeps their connection, DNS and TLS-session caches: a lazy
/// mount's range requests to one registry reuse one connection.
///
/// Proxies come from the process environment, read by curl itself (see `TransportConfiguration`).
package final class CurlHTTPClient: HTTPClient {
    package let configuration: TransportConfiguration
    private let idleHandles = Mutex<[EasyHandle]>([])
    /// Enough for the concurrent fetches of a mount; more idle handles would only hold sockets open.
    private static let maximumIdleHandles = 8

    package init(configuration: TransportConfiguration = TransportConfiguration()) {
        self.configuration = configuration
    }

    deinit {
        for idle in idleHandles.withLock({ $0 }) {
            idle.library.functions.pointee.easy_cleanup(idle.handle)
        }
    }

    /// Sends `request`, following redirects by `RedirectPolicy`, all within `request.timeout`.
    package func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let library = try CurlLibrary.load(path: configuration.libraryPath)
        let deadline = ContinuousClock.now + request.timeout
        var current = request
        var redirects = 0
        while true {
            let url = try HTTPURL.forTransport(current.url)
            let response = try await exchange(current, url: url, deadline: deadline, library: library)
            guard
                let next = try RedirectPolicy.nextRequest(
                    after: current, status: response.status, location: response.header("location"))
            else { return response }
            redirects += 1
            guard redirects <= RedirectPolicy.maximumRedirects else { throw .tooManyRedirects(host: url.authority) }
            current = next
        }
    }

    /// One hop: one request, one response, no redirect handling.
    private func exchange(
        _ request: HTTPRequest, url: HTTPURL, deadline: ContinuousClock.Instant, library: CurlLibrary
    ) async throws(HTTPError) -> HTTPResponse {
        let host = url.authority
        if Task.isCancelled { throw .cancelled(host: host) }
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw .timedOut(host: host, seconds: HTTPError.seconds(request.timeout)) }

        let handle = try checkOut(library, host: host)
        // Runs before `transfer` is released (it outlives this defer), so the handle's options are cleared before
        // the transfer frees the error buffer, header list and body they point at.
        defer { checkIn(handle) }
        let transfer = CurlTransfer(library: library, handle: handle.handle, limit: request.maxResponseBytes)
        try transfer.configure(
            request, url: url, timeout: remaining, connectTimeout: request.connectTimeout,
            configuration: configuration)
        let outcome = await transfer.perform()
        guard outcome.code == CURLE_OK else {
            throw Self.failure(
                outcome, of: transfer, request, url: url, library: library, exceededLimit: transfer.exceededLimit)
        }
        return HTTPResponse(
            status: outcome.responseCode, headers: transfer.headers, body: transfer.body, url: url.string)
    }

    /// The error for a transfer curl did not complete, for the buffered and the streaming exchange alike.
    static func failure(
        _ outcome: CurlOutcome, of transfer: CurlTransfer, _ request: HTTPRequest, url: HTTPURL, library: CurlLibrary,
        exceededLimit: Bool
    ) -> HTTPError {
        HTTPError(
            HTTPError.CurlFailure(
                code: outcome.code, detail: transfer.failureDetail(outcome.code),
                genericText: library.describe(outcome.code), host: url.authority, redactedURL: url.redacted,
                reachedServer: outcome.reachedServer, exceededLimit: exceededLimit,
                cancelled: transfer.cancelled.load(ordering: .relaxed), limit: request.maxResponseBytes,
                timeout: request.timeout, connectTimeout: request.connectTimeout))
    }

    func checkOut(_ library: CurlLibrary, host: String) throws(HTTPError) -> EasyHandle {
        if let idle = idleHandles.withLock({ $0.popLast() }) { return idle }
        guard let handle = library.functions.pointee.easy_init() else {
            throw .other(host: host, reason: "curl_easy_init failed")
        }
        return EasyHandle(library: library, handle: handle)
    }

    /// Clears every option (so no pointer into a finished transfer survives) and keeps the handle, with its
    /// connection cache, for the next request.
    func checkIn(_ easy: EasyHandle) {
        let functions = easy.library.functions
        functions.pointee.easy_reset(easy.handle)
        let kept = idleHandles.withLock { idle in
            guard idle.count < Self.maximumIdleHandles else { return false }
            idle.append(easy)
            return true
        }
        if !kept { functions.pointee.easy_cleanup(easy.handle) }
    }
}

/// A curl easy handle. Used by one transfer at a time: it is either in the idle list or checked out by exactly one
/// `exchange`, which is what makes passing it between threads safe.
struct EasyHandle: @unchecked Sendable {
    let library: CurlLibrary
    let handle: OpaquePointer
}

internal import CCurl
internal import Glibc
internal import Synchronization

/// What curl_easy_perform reported about one exchange (one hop of a redirect chain).
struct CurlOutcome: Sendable {
    var code: CURLcode
    /// The final HTTP status of the hop, 0 when none was received.
    var responseCode: Int
    /// Whether the connection was up and the request about to be sent when the transfer ended; tells a connect
    /// timeout from a slow server.
    var reachedServer: Bool
}

/// One curl_easy_perform on its own thread, so the blocking call never occupies a thread of Swift's cooperative
/// pool (two of them on a 2-core machine). The awaiting task is resumed through a continuation.
///
/// The fields below are written only by curl's callbacks, on the transfer thread, during perform; the awaiting
/// task reads them only after the continuation resumed, which orders the two. Hence `@unchecked Sendable`.
final class CurlTransfer: @unchecked Sendable {
    let library: CurlLibrary
    /// The easy handle, used by this transfer only while it is checked out of the client's pool.
    let handle: OpaquePointer
    let limit: Int
    private(set) var headers: [(name: String, value: String)] = []
    private(set) var body: [UInt8] = []
    /// Set by the write callback when it refused bytes past `limit` (curl then reports CURLE_WRITE_ERROR).
    private(set) var exceededLimit = false
    /// Set from the cancellation handler on any thread; the progress callback aborts the transfer when it sees it.
    let cancelled = Atomic<Bool>(false)
    /// CURLOPT_ERRORBUFFER: curl's detailed message for the last failure ("SSL certificate problem: …").
    let errorBuffer: UnsafeMutablePointer<CChar>
    /// Memory curl reads during perform (CURLOPT_POSTFIELDS, CURLOPT_HTTPHEADER); freed in deinit, after the
    /// client has reset the handle.
    var requestBody: UnsafeMutableRawBufferPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    private var continuation: CheckedContinuation<CurlOutcome, Never>?
    /// Set for a streamed exchange (`CurlHTTPClient.stream`): the head, then each body block as it arrives, instead
    /// of a body gathered in memory. Called on the transfer thread.
    var sink: (@Sendable (HTTPStreamPart) -> Void)?
    private(set) var headDelivered = false
    /// The status of the last status line received (an interim 1xx is replaced by the final one).
    private(set) var statusCode = 0

    init(library: CurlLibrary, handle: OpaquePointer, limit: Int) {
        self.library = library
        self.handle = handle
        self.limit = limit
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        errorBuffer.deallocate()
        requestBody?.deallocate()
        if let headerList { library.functions.pointee.slist_free_all(headerList) }
    }

    /// curl's detailed message, or its generic text for `code` when the buffer is empty.
    func failureDetail(_ code: CURLcode) -> String {
        let detail = String(cString: errorBuffer)
        return detail.isEmpty ? library.describe(code) : detail
    }

    /// Runs the configured transfer on a new thread and waits for it without blocking the calling task's thread.
    /// Cancelling the task aborts the transfer at curl's next progress callback (at least once a second).
    func perform() async -> CurlOutcome {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<CurlOutcome, Never>) in
                self.continuation = continuation
                // The thread owns this +1 on `self` and gives it up when perform has returned and the continuation
                // is resumed (`takeRetainedValue` in the thread body); curl's callbacks borrow it meanwhile.
                let context = Unmanaged.passRetained(self).toOpaque()
                var attributes = pthread_attr_t()
                pthread_attr_init(&attributes)
                defer { pthread_attr_destroy(&attributes) }
                pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
                pthread_attr_setstacksize(&attributes, 1 << 20)  // curl + OpenSSL need far less than the 8 MiB default
                var thread = pthread_t()
                let started = pthread_create(
                    &thread, &attributes,
                    { context in
                        Unmanaged<CurlTransfer>.fromOpaque(context!).takeRetainedValue().runOnThisThread()
                        return nil
                    }, context)
                if started != 0 {
                    Unmanaged<CurlTransfer>.fromOpaque(context).release()  // the thread never took it
                    self.continuation = nil
                    continuation.resume(
                        returning: CurlOutcome(code: CURLE_FAILED_INIT, responseCode: 0, reachedServer: false))
                }
            }
        } onCancel: {
            cancelled.store(true, ordering: .relaxed)
        }
    }

    private func runOnThisThread() {
        let functions = library.functions
        let code = functions.pointee.easy_perform(handle)
        var responseCode = 0
        _ = ccurl_getinfo_long(functions, handle, CURLINFO_RESPONSE_CODE, &responseCode)
        var pretransfer: curl_off_t = 0
        _ = ccurl_getinfo_off_t(functions, handle, CURLINFO_PRETRANSFER_TIME_T, &pretransfer)
        let continuation = self.continuation
        self.continuation = nil
        continuation?.resume(
            returning: CurlOutcome(code: code, responseCode: responseCode, reachedServer: pretransfer > 0))
    }

    // MARK: - Called by curl on the transfer thread

    /// CURLOPT_WRITEFUNCTION. Returning fewer bytes than offered makes curl stop with CURLE_WRITE_ERROR.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        if let sink {
            deliverHead()
            sink(.body(Array(bytes)))
            return bytes.count
        }
        guard body.count + bytes.count <= limit else {
            exceededLimit = true
            return 0
        }
        body.append(contentsOf: bytes)
        return bytes.count
    }

    /// CURLOPT_HEADERFUNCTION: one line at a time, status line included. A new status line (an interim 1xx, or
    /// a proxy's CONNECT answer) starts the header list afresh so only the final response's headers remain.
    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) -> Int {
        // Trim CR LF as bytes: as a String, "\r\n" is one Character, equal to neither "\r" nor "\n".
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
        if line.isEmpty, statusCode >= 200 {
            // The end of the final head: a watch may send no body for minutes, and its caller must know now.
            deliverHead()
        } else if line.hasPrefix("HTTP/") {
            headers.removeAll()
            statusCode = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        } else if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
            // obs-fold (RFC 9112 §5.2): a continuation of the previous value.
            headers[headers.count - 1].value += " " + line.trimmingWhitespace()
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...]).trimmingWhitespace()
            headers.append((name: name, value: value))
        }
        return bytes.count
    }

    /// Hands the head to the sink once, before the first body block (or at the end, for an empty body).
    func deliverHead() {
        guard let sink, !headDelivered else { return }
        headDelivered = true
        sink(.head(status: statusCode, headers: headers))
    }

    /// CURLOPT_XFERINFOFUNCTION: non-zero aborts the transfer with CURLE_ABORTED_BY_CALLBACK.
    func shouldAbort() -> Bool { cancelled.load(ordering: .relaxed) }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}

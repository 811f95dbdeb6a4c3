internal import CCurl
internal import FoundationEssentials
internal import SystemSupport

/// How one hop of an `HTTPRequest`, under the client's `TransportConfiguration`, becomes easy-handle options.
extension CurlTransfer {
    func configure(
        _ request: HTTPRequest, url: HTTPURL, timeout: Duration, connectTimeout: Duration,
        configuration: TransportConfiguration
    ) throws(HTTPError) {
        let host = url.authority
        let functions = library.functions
        let handle = self.handle
        func check(_ code: CURLcode) throws(HTTPError) {
            guard code == CURLE_OK else { throw .other(host: host, reason: library.describe(code)) }
        }
        func setLong(_ option: CURLoption, _ value: Int) throws(HTTPError) {
            try check(ccurl_setopt_long(functions, handle, option, value))
        }
        func setString(_ option: CURLoption, _ value: String) throws(HTTPError) {
            try check(ccurl_setopt_string(functions, handle, option, value))
        }

        try setString(CURLOPT_URL, url.string)
        try check(ccurl_setopt_pointer(functions, handle, CURLOPT_ERRORBUFFER, errorBuffer))
        // curl's default resolver timeout uses SIGALRM, which is unsafe with other threads running.
        try setLong(CURLOPT_NOSIGNAL, 1)
        // The *_STR forms are curl 7.85+. The nodes the kubelet plugin runs on have older ones (Debian 11 7.74,
        // Ubuntu 20.04 7.68, RHEL 9 7.76), which refuse them as unknown; there the bit masks they replaced
        // (CURLOPT_PROTOCOLS and CURLOPT_REDIR_PROTOCOLS, deprecated by name in newer headers) say the same.
        for (option, legacy) in [(CURLOPT_PROTOCOLS_STR, 181), (CURLOPT_REDIR_PROTOCOLS_STR, 182)] {
            let code = ccurl_setopt_string(functions, handle, option, "http,https")
            guard code == CURLE_UNKNOWN_OPTION else {
                try check(code)
                continue
            }
            try setLong(CURLoption(rawValue: UInt32(legacy)), Self.httpAndHTTPS)
        }
        // Redirects are RedirectPolicy's; credentials are the caller's headers only: no cookie engine (it is off
        // unless CURLOPT_COOKIEFILE is set, which we never do), no ~/.netrc, no user:password from the URL.
        try setLong(CURLOPT_FOLLOWLOCATION, 0)
        try setLong(CURLOPT_NETRC, Int(CURL_NETRC_IGNORED.rawValue))
        try setLong(CURLOPT_DISALLOW_USERNAME_IN_URL, 1)
        // A proxy's CONNECT answer is not the server's response.
        try setLong(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        try setString(CURLOPT_USERAGENT, configuration.userAgent)

        try setLong(CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout))
        try setLong(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(min(connectTimeout, timeout)))
        if request.method.uppercased() != "HEAD" {
            // Rejects a too-large Content-Length before any byte arrives (CURLE_FILESIZE_EXCEEDED); the write
            // callback covers chunked and close-delimited bodies. Not for HEAD: it announces a body it never sends.
            try check(
                ccurl_setopt_off_t(functions, handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(request.maxResponseBytes)))
        }

        try configureTLS(request, host: host, configuration: configuration, check: check)
        try configureCallbacks(check: check)
        try configureMethodAndBody(request, host: host, check: check)
    }

    private func configureTLS(
        _ request: HTTPRequest, host: String, configuration: TransportConfiguration,
        check: (CURLcode) throws(HTTPError) -> Void
    ) throws(HTTPError) {
        let functions = library.functions
        try check(ccurl_setopt_long(functions, handle, CURLOPT_SSL_VERIFYPEER, request.verifyTLS ? 1 : 0))
        try check(ccurl_setopt_long(functions, handle, CURLOPT_SSL_VERIFYHOST, request.verifyTLS ? 2 : 0))
        guard request.verifyTLS else { return }
        var files: [String] = []
        for file in [configuration.caFile, request.caFile].compactMap({ $0 }) where !files.contains(file) {
            files.append(file)
        }
        guard !files.isEmpty || request.caCertificates != nil else { return }  // curl's built-in system bundle
        // Every extra CA reaches curl as one in-memory PEM blob (copied by curl during the call): read through
        // the one file reader, so a FIFO or a huge file at the path is an error, and curl never opens a path.
        var pem: [UInt8] = []
        for file in files {
            let contents: [UInt8]?
            do {
                contents = try FileIO.read(file, limit: 4 << 20)
            } catch {
                throw .tls(host: host, reason: "cannot read the CA file: \(error.description)")
            }
            guard let contents else { throw .tls(host: host, reason: "the CA file \(file) does not exist") }
            pem.append(contentsOf: contents)
            pem.append(UInt8(ascii: "\n"))
        }
        if let inline = request.caCertificates { pem.append(contentsOf: inline) }
        let code = pem.withUnsafeBytes { bytes in
            ccurl_setopt_blob_copy(functions, handle, CURLOPT_CAINFO_BLOB, bytes.baseAddress, bytes.count)
        }
        if code == CURLE_UNKNOWN_OPTION {
            throw .tls(
                host: host,
                reason: "this libcurl is older than 7.77, which extra CA certificates (OCICRED_CA_FILE, certs.d) "
                    + "need; install a newer libcurl4 or trust the CA in the system store")
        }
        try check(code)
        // CAINFO replaces curl's default bundle file; the hashed system directory keeps the public CAs trusted,
        // so a private CA is trusted in addition, not instead.
        if FileIO.isSearchableDirectory(configuration.systemCAPath) {
            try check(ccurl_setopt_string(functions, handle, CURLOPT_CAPATH, configuration.systemCAPath))
        }
    }

    /// CURLPROTO_HTTP | CURLPROTO_HTTPS, for the protocol bit masks of libcurl before 7.85.
    static let httpAndHTTPS = 1 << 0 | 1 << 1

    /// The trampolines get the transfer back from userdata. It is passed unretained: the transfer thread holds a
    /// +1 on it for the whole of curl_easy_perform (see `perform()`), the only time curl calls them.
    private func configureCallbacks(check: (CURLcode) throws(HTTPError) -> Void) throws(HTTPError) {
        let functions = library.functions
        let userdata = Unmanaged.passUnretained(self).toOpaque()
        try check(
            ccurl_setopt_data_callback(functions, handle, CURLOPT_WRITEFUNCTION) { data, size, count, userdata in
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
                return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
            })
        try check(ccurl_setopt_pointer(functions, handle, CURLOPT_WRITEDATA, userdata))
        try check(
            ccurl_setopt_data_callback(functions, handle, CURLOPT_HEADERFUNCTION) { data, size, count, userdata in
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
                return transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
            })
        try check(ccurl_setopt_pointer(functions, handle, CURLOPT_HEADERDATA, userdata))
        try check(
            ccurl_setopt_progress_callback(functions, handle, CURLOPT_XFERINFOFUNCTION) { userdata, _, _, _, _ in
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
                return transfer.shouldAbort() ? 1 : 0
            })
        try check(ccurl_setopt_pointer(functions, handle, CURLOPT_XFERINFODATA, userdata))
        try check(ccurl_setopt_long(functions, handle, CURLOPT_NOPROGRESS, 0))
    }

    private func configureMethodAndBody(
        _ request: HTTPRequest, host: String, check: (CURLcode) throws(HTTPError) -> Void
    ) throws(HTTPError) {
        let functions = library.functions
        let method = request.method
        guard HTTPToken.isToken(method) else {
            throw .other(host: host, reason: "invalid HTTP method \(method.debugDescription)")
        }
        let upper = method.uppercased()
        let sendsBody = upper != "HEAD" && (!request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(upper))

        var lines: [String] = []
        for (name, value) in request.headers {
            guard HTTPToken.isToken(name) else {
                throw .other(host: host, reason: "invalid header name \(name.debugDescription)")
            }
            // The value is never quoted back: it may be a token.
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw .other(host: host, reason: "the value of header \(name) contains a line break")
            }
            // "Name:" would tell curl to remove its own header of that name; "Name;" sends it empty.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        let names = Set(request.headers.map { $0.name.lowercased() })
        // curl waits up to a second for "100 Continue" before large bodies; registries and token endpoints do not
        // need it.
        if !names.contains("expect") { lines.append("Expect:") }
        // With POSTFIELDS curl would claim application/x-www-form-urlencoded; send no type unless asked to.
        if sendsBody && !names.contains("content-type") { lines.append("Content-Type:") }
        for line in lines {
            guard let list = functions.pointee.slist_append(headerList, line) else {
                throw .other(host: host, reason: "out of memory building the request headers")
            }
            headerList = list
        }
        try check(ccurl_setopt_slist(functions, handle, CURLOPT_HTTPHEADER, headerList))

        if upper == "HEAD" {
            try check(ccurl_setopt_long(functions, handle, CURLOPT_NOBODY, 1))
            return
        }
        if sendsBody {
            // Not CURLOPT_COPYPOSTFIELDS: the bytes are copied once here and freed in deinit, after perform.
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, request.body.count), alignment: 1)
            buffer.copyBytes(from: request.body)
            requestBody = buffer
            try check(
                ccurl_setopt_off_t(functions, handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            try check(ccurl_setopt_pointer(functions, handle, CURLOPT_POSTFIELDS, buffer.baseAddress))
        } else {
            try check(ccurl_setopt_long(functions, handle, CURLOPT_HTTPGET, 1))
        }
        if upper != (sendsBody ? "POST" : "GET") || method != upper {
            try check(ccurl_setopt_string(functions, handle, CURLOPT_CUSTOMREQUEST, method))
        }
    }

    /// At least 1: curl reads 0 as "no timeout".
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

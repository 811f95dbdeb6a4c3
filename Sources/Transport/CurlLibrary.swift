internal import CCurl
internal import Glibc
internal import Synchronization

/// libcurl, loaded with dlopen() on the first request instead of linked: linking it makes the dynamic loader map
/// libcurl and its dozen dependencies (OpenSSL, nghttp2, libssh2, LDAP, Kerberos, …) on every start, ~4 ms per
/// credential-helper call (measured), although a cached `get` never touches the network.
///
/// The table of entry points is resolved once per library path and lives for the rest of the process (the library
/// is never unloaded, so neither the table nor the pointers in it ever dangle).
final class CurlLibrary: @unchecked Sendable {  // immutable after init; libcurl's functions are thread-safe per handle
    /// Entry points for the `ccurl_*` wrappers of shim.h. Allocated once, never freed (see above).
    let functions: UnsafePointer<ccurl_functions>
    let path: String

    private init(path: String, functions: UnsafePointer<ccurl_functions>) {
        self.path = path
        self.functions = functions
    }

    /// Libraries loaded so far, by path. A failure is not cached: installing libcurl4 fixes a long-running
    /// sidecar without a restart.
    private static let loaded = Mutex<[String: CurlLibrary]>([:])

    /// The library at `path` (`libcurl.so.4`, found through the loader's search path), loaded and initialised
    /// once per process; concurrent first callers wait on the mutex and get the same instance.
    static func load(path: String) throws(HTTPError) -> CurlLibrary {
        let result: Result<CurlLibrary, HTTPError> = loaded.withLock { libraries in
            if let library = libraries[path] { return .success(library) }
            do throws(HTTPError) {
                let library = try open(path: path)
                libraries[path] = library
                return .success(library)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func open(path: String) throws(HTTPError) -> CurlLibrary {
        // RTLD_LOCAL: curl's symbols stay out of the global namespace; nothing else should bind to them.
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw .libraryUnavailable(reason: Self.loaderError() ?? "cannot load \(path)")
        }
        func symbol(_ name: String) throws(HTTPError) -> UnsafeMutableRawPointer {
            guard let pointer = dlsym(handle, name) else {
                throw .libraryUnavailable(reason: "\(path) has no \(name)")
            }
            return pointer
        }
        var table = ccurl_functions()
        do throws(HTTPError) {
            table.global_init = unsafeBitCast(try symbol("curl_global_init"), to: type(of: table.global_init))
            table.easy_init = unsafeBitCast(try symbol("curl_easy_init"), to: type(of: table.easy_init))
            table.easy_cleanup = unsafeBitCast(try symbol("curl_easy_cleanup"), to: type(of: table.easy_cleanup))
            table.easy_reset = unsafeBitCast(try symbol("curl_easy_reset"), to: type(of: table.easy_reset))
            table.easy_perform = unsafeBitCast(try symbol("curl_easy_perform"), to: type(of: table.easy_perform))
            table.easy_strerror = unsafeBitCast(try symbol("curl_easy_strerror"), to: type(of: table.easy_strerror))
            table.slist_append = unsafeBitCast(try symbol("curl_slist_append"), to: type(of: table.slist_append))
            table.slist_free_all = unsafeBitCast(
                try symbol("curl_slist_free_all"), to: type(of: table.slist_free_all))
            table.easy_setopt = try symbol("curl_easy_setopt")
            table.easy_getinfo = try symbol("curl_easy_getinfo")
        } catch {
            dlclose(handle)
            throw error
        }
        // curl_global_init is not thread-safe in every build; it runs here, under `loaded`'s lock, exactly once.
        let initialised = table.global_init(Int(CURL_GLOBAL_DEFAULT))
        guard initialised == CURLE_OK else {
            let reason = table.easy_strerror(initialised).map { String(cString: $0) } ?? "curl_global_init failed"
            dlclose(handle)
            throw .libraryUnavailable(reason: reason)
        }
        let functions = UnsafeMutablePointer<ccurl_functions>.allocate(capacity: 1)
        functions.initialize(to: table)
        return CurlLibrary(path: path, functions: UnsafePointer(functions))
    }

    private static func loaderError() -> String? {
        guard let message = dlerror() else { return nil }
        return String(cString: message)
    }

    /// curl's fixed English text for `code` (never holds request data).
    func describe(_ code: CURLcode) -> String {
        functions.pointee.easy_strerror(code).map { String(cString: $0) } ?? "curl error \(code.rawValue)"
    }
}

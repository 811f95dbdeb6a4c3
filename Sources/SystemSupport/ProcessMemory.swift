internal import Glibc

/// Advice to the kernel about this process's own pages, for the refresh sidecar's idle footprint (`StartupCode`).
package enum ProcessMemory {
    /// madvise(MADV_DONTNEED) on `length` bytes at `start`. On a clean, file-backed mapping this only drops the
    /// page-table entries (the next touch maps the page back from the page cache); the caller must make sure the
    /// range holds no private change, which this would throw away.
    package static func dropPages(start: UInt, length: Int) throws(SystemError) {
        guard let address = UnsafeMutableRawPointer(bitPattern: start) else {
            throw SystemError(code: EINVAL, operation: "madvise", detail: "the address 0 is no mapping")
        }
        _ = try valueOrErrno("madvise MADV_DONTNEED") { madvise(address, length, MADV_DONTNEED) }
    }
}

internal import CFuse
internal import Glibc
internal import Synchronization

/// One directory entry of a `readdirplus` answer.
struct FuseDirectoryEntry: Sendable {
    var name: String
    var attributes: FuseAttributes
    /// The offset the kernel passes back to continue after this entry.
    var nextOffset: Int64
}

/// One request from the kernel, to be answered exactly once — possibly later and from another thread (libfuse's
/// low-level API allows that), which is how reads wait for the network without holding a FUSE worker.
struct FuseRequest: @unchecked Sendable {
    private let raw: fuse_req_t

    init(_ raw: fuse_req_t) { self.raw = raw }

    /// The object given to `fuse_session_new` as user data.
    var userData: UnsafeMutableRawPointer? { fuse_req_userdata(raw) }

    /// Replies libfuse could not hand to the kernel, over the process's life. Its one expected failure is
    /// -ENOENT: the request was interrupted (the reader gave up or the mount is going away) and nothing is left
    /// to answer; anything else means a reply of the wrong shape. Either way the request is over, so the mount
    /// counts them and says how many at its end (`ImageMount`), instead of failing a reader that is gone.
    static let lostReplies = Atomic<Int>(0)

    private func sent(_ result: Int32) {
        if result != 0 { Self.lostReplies.add(1, ordering: .relaxed) }
    }

    func fail(_ error: FuseError) { sent(fuse_reply_err(raw, error.errorNumber)) }

    func none() { fuse_reply_none(raw) }

    func opened(_ info: UnsafeMutablePointer<fuse_file_info>) { sent(fuse_reply_open(raw, info)) }

    func entry(_ attributes: FuseAttributes, timeout: Double) {
        var parameters = Self.entryParameters(attributes, timeout: timeout)
        sent(fuse_reply_entry(raw, &parameters))
    }

    func attributes(_ attributes: FuseAttributes, timeout: Double) {
        var stat = attributes.stat
        sent(fuse_reply_attr(raw, &stat, timeout))
    }

    func data(_ bytes: [UInt8]) {
        sent(
            bytes.withUnsafeBytes { raw in
                fuse_reply_buf(self.raw, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
            })
    }

    func data(_ bytes: ArraySlice<UInt8>) {
        sent(
            bytes.withUnsafeBytes { raw in
                fuse_reply_buf(self.raw, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
            })
    }

    func link(_ target: String) { sent(fuse_reply_readlink(raw, target)) }

    func xattrSize(_ size: Int) { sent(fuse_reply_xattr(raw, size)) }

    func statfs(blocks: UInt64, files: UInt64) {
        var info = statvfs()
        info.f_bsize = 4096
        info.f_frsize = 4096
        info.f_blocks = UInt(blocks)
        info.f_files = UInt(files)
        info.f_namemax = 255
        sent(fuse_reply_statfs(raw, &info))
    }

    /// Packs as many of `entries` as fit in `size` bytes (each entry counts one lookup, as readdirplus must).
    func directory(_ entries: some Sequence<FuseDirectoryEntry>, size: Int, timeout: Double) {
        var buffer = [CChar](repeating: 0, count: size)
        var used = 0
        for entry in entries {
            var parameters = Self.entryParameters(entry.attributes, timeout: timeout)
            let needed = buffer.withUnsafeMutableBufferPointer { buffer in
                fuse_add_direntry_plus(
                    raw, buffer.baseAddress! + used, size - used, entry.name, &parameters, off_t(entry.nextOffset))
            }
            if needed > size - used { break }
            used += needed
        }
        sent(buffer.withUnsafeBufferPointer { fuse_reply_buf(raw, $0.baseAddress, used) })
    }

    private static func entryParameters(_ attributes: FuseAttributes, timeout: Double) -> fuse_entry_param {
        var parameters = fuse_entry_param()
        parameters.ino = attributes.inode
        parameters.generation = 1
        parameters.attr = attributes.stat
        parameters.attr_timeout = timeout
        parameters.entry_timeout = timeout
        return parameters
    }
}

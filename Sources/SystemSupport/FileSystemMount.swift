internal import Glibc

/// mount(2), umount2(2) and the path facts around them, for the lazy mount's bundles: each result checked and
/// turned into a `SystemError` here, so no other target calls them.
package enum FileSystemMount {
    /// Mounts kernel overlayfs on `target` with `options` (`lowerdir=…,upperdir=…,workdir=…`).
    package static func mountOverlay(at target: String, options: String) throws(SystemError) {
        _ = try valueOrErrno("mount overlayfs on \(target)") { mount("overlay", target, "overlay", 0, options) }
    }

    /// Unmounts `path`; `detach` (MNT_DETACH) takes it out of the namespace now and lets it go once unused.
    package static func unmount(_ path: String, detach: Bool = false) throws(SystemError) {
        _ = try valueOrErrno("umount \(path)") { umount2(path, detach ? Int32(MNT_DETACH) : 0) }
    }

    /// The absolute path with every symlink resolved, as /proc/self/mountinfo names mount points.
    package static func realPath(_ path: String) throws(SystemError) -> String {
        let resolved = try pointerOrErrno("realpath \(path)") { realpath(path, nil) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The target of the symlink at `path` (a /proc namespace link, say), or nil when there is none.
    package static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard let count = try? valueOrErrno("readlink \(path)", { readlink(path, &buffer, buffer.count - 1) }),
            count > 0
        else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

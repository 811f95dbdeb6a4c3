internal import Glibc

/// Directories that hold what someone else controls — a container's upper and work directories, a bundle — made,
/// emptied and removed without ever following a link or leaving the filesystem they are on: every step below the
/// starting directory goes through a directory file descriptor with `O_NOFOLLOW` (`openat`, `fstatat`,
/// `unlinkat`), so a directory swapped for a symlink at any moment is removed as the symlink it has become, never
/// walked into; a mount point met on the way is refused, not descended (`rm --one-file-system`).
package enum DirectoryTree {
    /// `O_PATH`, which Glibc's Swift overlay does not import (linux/fcntl.h: the same value on every architecture
    /// ocicred builds for).
    private static let pathOnly: Int32 = 0o10000000

    /// Creates `path` with `mode` (exactly: the umask is undone with fchmod) and returns true, or returns false
    /// when a real directory is already there. Anything else there (a symlink, a file) is an error.
    @discardableResult
    package static func create(_ path: String, mode: UInt32 = 0o700) throws(SystemError) -> Bool {
        do {
            _ = try valueOrErrno("mkdir \(path)") { mkdir(path, mode_t(mode)) }
        } catch {
            guard error.code == EEXIST else { throw error }
            var info = stat()
            _ = try valueOrErrno("lstat \(path)") { lstat(path, &info) }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw SystemError(
                    code: EEXIST, operation: "use \(path) as a directory",
                    detail: "it is \(FileKind(mode: info.st_mode)); remove it or choose another directory")
            }
            return false
        }
        try setMode(path, mode)
        return true
    }

    /// chmod of the directory at `path` itself, never of what a symlink there points to.
    package static func setMode(_ path: String, _ mode: UInt32) throws(SystemError) {
        let fd = try valueOrErrno("open \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        defer { close(fd) }
        _ = try valueOrErrno("chmod \(path)") { fchmod(fd, mode_t(mode)) }
    }

    /// Whether `path` is a directory (not a link to one) with nothing in it.
    package static func isEmpty(_ path: String) throws(SystemError) -> Bool {
        let fd = try valueOrErrno("open \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        defer { close(fd) }
        return try names(in: fd, path: path).isEmpty
    }

    /// Removes `path` and everything below it. Nothing there is not an error.
    package static func remove(_ path: String) throws(SystemError) {
        let parent = FileIO.directoryName(path)
        let fd = try valueOrErrno("open \(parent)") { open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        try removeEntry(FileIO.baseName(path), in: fd, path: path, device: nil)
    }

    /// Removes everything inside the directory `path`, keeping the directory.
    package static func empty(_ path: String) throws(SystemError) {
        let fd = try valueOrErrno("open \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        defer { close(fd) }
        var info = stat()
        _ = try valueOrErrno("stat \(path)") { fstat(fd, &info) }
        for name in try names(in: fd, path: path) {
            try removeEntry(name, in: fd, path: path + "/" + name, device: info.st_dev)
        }
    }

    /// Removes the directory `path` only if it is empty; false when something is still in it or it is gone.
    @discardableResult
    package static func removeIfEmpty(_ path: String) -> Bool {
        (try? valueOrErrno("rmdir \(path)") { rmdir(path) }) != nil
    }

    /// Removes entry `name` of the open directory `parent`: a directory after its contents, anything else (a
    /// symlink included) by unlinking the name.
    private static func removeEntry(_ name: String, in parent: Int32, path: String, device: dev_t?)
        throws(SystemError)
    {
        var info = stat()
        do {
            _ = try valueOrErrno("lstat \(path)") { fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) }
        } catch {
            if error.code == ENOENT { return }
            throw error
        }
        guard info.st_mode & S_IFMT == S_IFDIR, let fd = try openDirectory(name, in: parent, path: path) else {
            try unlinkEntry(name, in: parent, path: path, flags: 0)
            return
        }
        defer { close(fd) }
        var opened = stat()
        _ = try valueOrErrno("stat \(path)") { fstat(fd, &opened) }
        if let device, opened.st_dev != device {
            throw SystemError(
                code: EXDEV, operation: "remove \(path)", detail: "something is mounted there; unmount it first")
        }
        for child in try names(in: fd, path: path) {
            try removeEntry(child, in: fd, path: path + "/" + child, device: opened.st_dev)
        }
        try unlinkEntry(name, in: parent, path: path, flags: AT_REMOVEDIR)
    }

    /// The directory `name` in `parent`, opened without following a link; nil when it is no longer a directory
    /// (swapped for a link or a file since it was looked at). A directory without read permission (overlayfs
    /// leaves `work/work` at mode 000) is made 0700 first through an `O_PATH` descriptor of that very inode.
    private static func openDirectory(_ name: String, in parent: Int32, path: String) throws(SystemError) -> Int32? {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        do {
            return try valueOrErrno("open \(path)") { openat(parent, name, flags) }
        } catch {
            if error.code == ENOTDIR || error.code == ELOOP || error.code == ENOENT { return nil }
            guard error.code == EACCES else { throw error }
        }
        let handle = try valueOrErrno("open \(path)") {
            openat(parent, name, Self.pathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        }
        defer { close(handle) }
        _ = try valueOrErrno("chmod \(path)") { chmod("/proc/self/fd/\(handle)", 0o700) }
        let fd = try valueOrErrno("open \(path)") { openat(parent, name, flags) }
        var reopened = stat()
        var pinned = stat()
        guard fstat(fd, &reopened) == 0, fstat(handle, &pinned) == 0, reopened.st_ino == pinned.st_ino,
            reopened.st_dev == pinned.st_dev
        else {
            close(fd)
            return nil
        }
        return fd
    }

    private static func unlinkEntry(_ name: String, in parent: Int32, path: String, flags: Int32) throws(SystemError) {
        do {
            _ = try valueOrErrno("remove \(path)") { unlinkat(parent, name, flags) }
        } catch {
            if error.code != ENOENT { throw error }
        }
    }

    /// Names in the open directory `fd` (not "." and ".."); `fd` itself stays open and at its place.
    private static func names(in fd: Int32, path: String) throws(SystemError) -> [String] {
        let copy = try valueOrErrno("dup \(path)") { dup(fd) }
        let stream: OpaquePointer
        do {
            stream = try pointerOrErrno("opendir \(path)") { fdopendir(copy) }
        } catch {
            close(copy)
            throw error
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else { break }
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        // readdir says "the end" and "an error" alike with NULL; only errno tells them apart.
        if errno != 0 { throw SystemError(code: errno, operation: "readdir \(path)") }
        return names
    }
}

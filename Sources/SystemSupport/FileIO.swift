internal import Glibc

/// The one way ocicred reads a file another process or user could have placed: the store, the key, auth files,
/// the config, the token cache, CA bundles, kubeconfigs, cloud credential files, indexes and cached spans.
///
/// It opens without blocking and checks the type before reading a byte, so a FIFO, a socket or a device planted
/// at one of those paths is an error naming the path instead of a `get` that hangs forever; and it stops at a
/// size cap, so /dev/zero behind a symlink or a huge file cannot fill memory.
package enum FileIO {
    /// Reads a whole regular file, or returns nil when nothing exists at `path`.
    package static func read(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> [UInt8]? {
        guard let (fd, info) = try openRegular(path) else { return nil }
        defer { close(fd) }
        if info.st_size > limit {
            throw SystemError(
                code: EFBIG, operation: "read \(path)",
                detail: "it is \(info.st_size) bytes, more than the \(limit) bytes such a file may hold")
        }
        // procfs and sysfs report size 0 and still have content: read to end of file, within the cap.
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = try valueOrErrno("read \(path)") {
                chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit {
                throw SystemError(
                    code: EFBIG, operation: "read \(path)", detail: "it holds more than the \(limit) bytes allowed")
            }
        }
        return bytes
    }

    /// Up to `count` bytes of the regular file at `path` from `offset` (fewer at its end), or nil when nothing
    /// exists there: one span of a file the chunk cache keeps several in, without reading the others.
    package static func read(_ path: String, at offset: Int64, count: Int) throws(SystemError) -> [UInt8]? {
        guard let (fd, _) = try openRegular(path) else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: max(0, count))
        var filled = 0
        while filled < bytes.count {
            let got = try valueOrErrno("read \(path)") {
                bytes.withUnsafeMutableBytes {
                    pread(fd, $0.baseAddress! + filled, $0.count - filled, off_t(offset + Int64(filled)))
                }
            }
            if got == 0 { break }
            filled += got
        }
        return Array(bytes[0..<filled])
    }

    /// `path` opened for reading once it is known to be a regular file (a FIFO or device planted there is an
    /// error naming it, never a read that hangs), with what fstat said of it; nil when nothing is there.
    private static func openRegular(_ path: String) throws(SystemError) -> (fd: Int32, info: stat)? {
        let fd: Int32
        do {
            fd = try valueOrErrno("open \(path)") { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY) }
        } catch {
            if error.code == ENOENT || error.code == ENOTDIR { return nil }
            throw error
        }
        var info = stat()
        do {
            _ = try valueOrErrno("stat \(path)") { fstat(fd, &info) }
        } catch {
            close(fd)
            throw error
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw SystemError(
                code: EINVAL, operation: "read \(path)",
                detail:
                    "it is \(FileKind(mode: info.st_mode)), not a regular file; remove it or point ocicred at a file")
        }
        return (fd, info)
    }

    /// `read` as UTF-8 text (invalid sequences repaired), or nil when the file does not exist.
    package static func readText(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> String? {
        try read(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether anything (even a dangling symlink) exists at `path`.
    package static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether `path` is a regular file (following symlinks), without opening it.
    package static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// Whether `path` is a directory (following symlinks).
    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// Whether this process may list and search the directory at `path` (access(2) with R_OK | X_OK), as a
    /// library handed the path would need.
    package static func isSearchableDirectory(_ path: String) -> Bool {
        isDirectory(path) && access(path, R_OK | X_OK) == 0
    }

    /// Creates `path` and its missing parents; the directories we create are 0700 because they hold secrets.
    package static func makeDirectory(_ path: String, mode: UInt32 = 0o700) throws(SystemError) {
        if path.isEmpty || isDirectory(path) { return }
        let parent = directoryName(path)
        if parent != path { try makeDirectory(parent, mode: mode) }
        do {
            _ = try valueOrErrno("mkdir \(path)") { mkdir(path, mode) }
        } catch {
            if error.code != EEXIST { throw error }
        }
    }

    /// Removes the file at `path`; false when there was none.
    package static func remove(_ path: String) throws(SystemError) -> Bool {
        do {
            _ = try valueOrErrno("unlink \(path)") { unlink(path) }
        } catch {
            if error.code == ENOENT { return false }
            throw error
        }
        try syncDirectory(directoryName(path))
        return true
    }

    /// Names in a directory (without "." and ".."), sorted, or [] when it does not exist.
    package static func list(_ directory: String) throws(SystemError) -> [String] {
        let dir: OpaquePointer
        do {
            dir = try pointerOrErrno("opendir \(directory)") { opendir(directory) }
        } catch {
            if error.code == ENOENT { return [] }
            throw error
        }
        defer { closedir(dir) }
        var names = [String]()
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The directory part of `path` ("." for a bare name, "/" for a file at the root).
    package static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component of `path`.
    package static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR; the one write loop every writer uses.
    package static func writeAll(_ bytes: [UInt8], to fd: Int32, operation: @autoclosure () -> String)
        throws(SystemError)
    {
        var offset = 0
        while offset < bytes.count {
            let written = try valueOrErrno(operation()) {
                bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            offset += written
        }
    }

    /// fsync of a directory, so a rename or unlink in it survives a crash. Filesystems that cannot sync a
    /// directory say EINVAL; that is not a failure of ours.
    static func syncDirectory(_ path: String) throws(SystemError) {
        let fd = try valueOrErrno("open directory \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        do {
            _ = try valueOrErrno("fsync directory \(path)") { fsync(fd) }
        } catch {
            if error.code != EINVAL { throw error }
        }
    }
}

/// What is at a path, in words for messages.
struct FileKind: CustomStringConvertible {
    let mode: mode_t
    var description: String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFLNK: return "a symbolic link"
        default: return "an unknown kind of file"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin file primitives over POSIX calls, so the store, the key file and the auth files share one careful
/// implementation of "read whole file", "write atomically" and "create a private directory".
enum FileIO {
    /// Reads a whole file, or nil when it does not exist. `limit` guards against a huge or endless file
    /// (a FIFO, /dev/zero) being slurped into memory.
    static func read(_ path: String, limit: Int = 16 << 20) throws(SystemError) -> [UInt8]? {
        let fd: Int32
        do {
            fd = try valueOrErrno("open \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
        } catch {
            if error.code == ENOENT || error.code == ENOTDIR { return nil }
            throw error
        }
        defer { close(fd) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = try valueOrErrno("read \(path)") {
                chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { throw SystemError(code: EFBIG, operation: "read \(path) (over \(limit) bytes)") }
        }
        return bytes
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates `path` and its missing parents; the directories we create are 0700 because they hold secrets.
    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(SystemError) {
        if path.isEmpty || exists(path) { return }
        let parent = directoryName(path)
        if parent != path { try makeDirectory(parent, mode: mode) }
        do {
            _ = try valueOrErrno("mkdir \(path)") { mkdir(path, mode) }
        } catch {
            if error.code != EEXIST { throw error }
        }
    }

    /// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part: a 0600 temp
    /// file in the same directory, fsync, rename over the target, then fsync the directory so the rename
    /// itself survives a crash. Callers that can race hold a `FileLock` around this.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(SystemError) {
        let temporary = try writeTemporary(bytes, beside: path, mode: mode)
        do {
            _ = try valueOrErrno("rename \(temporary) to \(path)") { rename(temporary, path) }
        } catch {
            unlink(temporary)
            throw error
        }
        syncDirectory(directoryName(path))
    }

    /// Creates `path` with `bytes` only if it does not exist yet (link(2) of a finished temp file fails with
    /// EEXIST), so two processes that both see "missing" cannot both win. Returns false if it already existed.
    static func createExclusively(_ bytes: [UInt8], at path: String, mode: mode_t = 0o600) throws(SystemError) -> Bool {
        let temporary = try writeTemporary(bytes, beside: path, mode: mode)
        defer { unlink(temporary) }
        do {
            _ = try valueOrErrno("link \(path)") { link(temporary, path) }
        } catch {
            if error.code == EEXIST { return false }
            throw error
        }
        syncDirectory(directoryName(path))
        return true
    }

    /// A finished, fsynced file with `bytes` next to `path` (same directory, so a rename or link is atomic),
    /// created exclusively with `mode` set explicitly so a permissive umask cannot widen it. Returns its path.
    private static func writeTemporary(_ bytes: [UInt8], beside path: String, mode: mode_t) throws(SystemError)
        -> String
    {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = try valueOrErrno("create \(temporary)") {
            open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        }
        do {
            _ = try valueOrErrno("chmod \(temporary)") { fchmod(fd, mode) }
            try writeAll(fd, bytes, path: temporary)
            _ = try valueOrErrno("fsync \(temporary)") { fsync(fd) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        return temporary
    }

    static func remove(_ path: String) throws(SystemError) -> Bool {
        do {
            _ = try valueOrErrno("unlink \(path)") { unlink(path) }
        } catch {
            if error.code == ENOENT { return false }
            throw error
        }
        syncDirectory(directoryName(path))
        return true
    }

    /// Names in a directory (without "." and ".."), or [] when it does not exist.
    static func list(_ directory: String) throws(SystemError) -> [String] {
        guard let dir = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw SystemError(code: errno, operation: "opendir \(directory)")
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

    static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = try valueOrErrno("write \(path)") {
                bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            offset += written
        }
    }

    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

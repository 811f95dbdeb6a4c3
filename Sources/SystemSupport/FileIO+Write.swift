#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The one way ocicred writes a file: the store, the key, the token cache, auth files and their status, indexes,
/// spans, bundles. A reader sees the old file or the new one, never a part, and nothing another user placed in
/// the directory can redirect the write:
///
/// - the temporary file gets a random name in the target's directory and is created with
///   `O_CREAT|O_EXCL|O_NOFOLLOW`, so a symlink or file planted under a predictable name (the old
///   `path.tmp-<pid>`, guessable on a volume shared with other containers) makes the create fail instead of
///   truncating the attacker's choice of file;
/// - mode 0600 is set with fchmod, so a permissive umask cannot widen it;
/// - fsync of the file is checked, then rename(2) over the target (which replaces a symlink there, never follows
///   it), then fsync of the directory;
/// - the temporary file is removed on every failure, and the writer holds flock(2) on it while it exists: a
///   writer that was SIGKILLed leaves an unlocked temporary file, which the next write in that directory sweeps.
extension FileIO {
    /// Marks our temporary files: `.<target name>.ocicred-tmp-<16 hex>`.
    static let temporaryMarker = ".ocicred-tmp-"
    /// A temporary file this old and unlocked belongs to a writer that died; younger ones may be between
    /// creation and flock.
    static let staleAfterSeconds = 60

    /// Writes `bytes` to `path` atomically with `mode` (0600 unless a caller has a public file to write).
    package static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(SystemError) {
        let temporary = try TemporaryFile(beside: path, mode: mode)
        do {
            try temporary.write(bytes)
            _ = try valueOrErrno("rename \(temporary.path) to \(path)") { rename(temporary.path, path) }
            temporary.close()
        } catch {
            temporary.discard()
            throw error
        }
        try syncDirectory(directoryName(path))
    }

    /// Creates `path` with `bytes` only if nothing exists there yet (link(2) of a finished temporary file fails
    /// with EEXIST), so two processes that both saw "missing" cannot both win. False if something existed.
    package static func createExclusively(_ bytes: [UInt8], at path: String, mode: mode_t = 0o600) throws(SystemError)
        -> Bool
    {
        let temporary = try TemporaryFile(beside: path, mode: mode)
        defer { temporary.discard() }
        try temporary.write(bytes)
        do {
            _ = try valueOrErrno("link \(path)") { link(temporary.path, path) }
        } catch {
            if error.code == EEXIST { return false }
            throw error
        }
        try syncDirectory(directoryName(path))
        return true
    }

    /// Directories swept in this process: once each is enough, and a directory of thousands of cached spans is
    /// then listed once, not on every write.
    private static let sweptDirectories = Mutex<Set<String>>([])

    /// Removes temporary files a killed writer left in `directory`: ours by name, owned by us, regular, not
    /// locked by a live writer, and older than `staleAfterSeconds`.
    static func sweepStaleTemporaries(in directory: String) {
        let first = sweptDirectories.withLock { $0.insert(directory).inserted }
        guard first, let names = try? list(directory) else { return }
        let now = time(nil)
        for name in names where name.hasPrefix(".") && name.contains(temporaryMarker) {
            let path = directory + "/" + name
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(),
                now - info.st_mtim.tv_sec > staleAfterSeconds, flock(fd, LOCK_EX | LOCK_NB) == 0
            else { continue }
            unlink(path)
        }
    }
}

/// A temporary file beside its target, locked by this writer for as long as it exists.
private final class TemporaryFile {
    let path: String
    private var fd: Int32

    init(beside target: String, mode: mode_t) throws(SystemError) {
        let directory = FileIO.directoryName(target)
        FileIO.sweepStaleTemporaries(in: directory)
        var name = ""
        var opened: Int32 = -1
        // A collision of 64 random bits is not expected; EEXIST is retried anyway rather than reported.
        for attempt in 0..<4 {
            let suffix = String(UInt64.random(in: .min ... .max), radix: 16)
            name = directory + "/." + FileIO.baseName(target) + FileIO.temporaryMarker
                + String(repeating: "0", count: 16 - suffix.count) + suffix
            do {
                opened = try valueOrErrno("create \(name)") {
                    open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
                }
                break
            } catch {
                if error.code != EEXIST || attempt == 3 { throw error }
            }
        }
        path = name
        fd = opened
        do {
            _ = try valueOrErrno("lock \(name)") { flock(opened, LOCK_EX | LOCK_NB) }
            _ = try valueOrErrno("chmod \(name)") { fchmod(opened, mode) }
        } catch {
            discard()
            throw error
        }
    }

    /// Writes all of `bytes` and makes them durable.
    func write(_ bytes: [UInt8]) throws(SystemError) {
        try FileIO.writeAll(bytes, to: fd, operation: "write \(path)")
        _ = try valueOrErrno("fsync \(path)") { fsync(fd) }
    }

    /// Closes after a successful rename (the name now belongs to the target).
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Removes the temporary file and closes it; safe to call more than once.
    func discard() {
        if fd >= 0 { unlink(path) }
        close()
    }

    deinit { close() }
}

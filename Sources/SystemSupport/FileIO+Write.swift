internal import Glibc
internal import Synchronization

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
/// - the bytes go to an unnamed file (O_TMPFILE) that gets a name only once it is complete and synced, so a
///   writer SIGKILLed mid-write leaves nothing behind; where the filesystem has no O_TMPFILE the file is named
///   from the start. Either way it is removed on every failure and the writer holds flock(2) on it while it
///   exists, so a temporary file left by a killed writer is unlocked, and the next write in that directory —
///   or the next command that opens the credential store — sweeps it.
extension FileIO {
    /// Marks our temporary files: `.<target name>.ocicred-tmp-<16 hex>`.
    static let temporaryMarker = ".ocicred-tmp-"
    /// A named temporary file this old and unlocked belongs to a writer that died; a younger one may be between
    /// its creation and its flock (only where the filesystem has no O_TMPFILE).
    static let staleAfterSeconds = 5

    /// Writes `bytes` to `path` atomically with `mode` (0600 unless a caller has a public file to write).
    package static func writeAtomically(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o600) throws(SystemError) {
        let temporary = try TemporaryFile(beside: path, mode: mode)
        do {
            try temporary.write(bytes)
            let name = try temporary.name()
            _ = try valueOrErrno("rename \(name) to \(path)") { rename(name, path) }
            temporary.close()
        } catch {
            temporary.discard()
            throw error
        }
        try syncDirectory(directoryName(path))
    }

    /// Creates `path` with `bytes` only if nothing exists there yet (link(2) of a finished temporary file fails
    /// with EEXIST), so two processes that both saw "missing" cannot both win. False if something existed.
    package static func createExclusively(_ bytes: [UInt8], at path: String, mode: UInt32 = 0o600) throws(SystemError)
        -> Bool
    {
        let temporary = try TemporaryFile(beside: path, mode: mode)
        defer { temporary.discard() }
        try temporary.write(bytes)
        do {
            try temporary.link(to: path)
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
    /// locked by a live writer, and either holding bytes or older than `staleAfterSeconds`. A writer locks its
    /// temporary file before it writes a byte (and an O_TMPFILE one is locked before it even has a name), so an
    /// unlocked file with content belongs to a dead writer; only an empty one may be a live writer between its
    /// create and its flock.
    package static func sweepStaleTemporaries(in directory: String) {
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
                info.st_size > 0 || now - info.st_mtim.tv_sec > staleAfterSeconds, flock(fd, LOCK_EX | LOCK_NB) == 0
            else { continue }
            _ = try? valueOrErrno("unlink \(path)") { unlink(path) }
        }
    }
}

/// A temporary file beside its target, locked by this writer for as long as it exists: unnamed (O_TMPFILE) until
/// `name()` or `link(to:)`, or named from the start where the filesystem cannot do that.
private final class TemporaryFile {
    private let target: String
    private var fd: Int32 = -1
    /// The file's name in the target's directory, once it has one.
    private var path: String?

    /// `O_TMPFILE` is a compound macro Swift does not import: `__O_TMPFILE | O_DIRECTORY` (linux/fcntl.h; the
    /// value is the same on every architecture ocicred builds for).
    private static let temporaryFileFlag: Int32 = 0o20000000 | O_DIRECTORY

    init(beside target: String, mode: mode_t) throws(SystemError) {
        self.target = target
        let directory = FileIO.directoryName(target)
        FileIO.sweepStaleTemporaries(in: directory)
        // An unnamed file can only be named through /proc/self/fd without privileges.
        if access("/proc/self/fd", X_OK) == 0 {
            fd = open(directory, O_WRONLY | Self.temporaryFileFlag | O_CLOEXEC, mode)
        }
        if fd < 0 {
            try giveName { candidate in open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) }
        }
        do {
            _ = try valueOrErrno("lock a temporary file for \(target)") { flock(fd, LOCK_EX | LOCK_NB) }
            _ = try valueOrErrno("chmod a temporary file for \(target)") { fchmod(fd, mode) }
        } catch {
            discard()
            throw error
        }
    }

    /// Writes all of `bytes` and makes them durable.
    func write(_ bytes: [UInt8]) throws(SystemError) {
        try FileIO.writeAll(bytes, to: fd, operation: "write a temporary file for \(target)")
        _ = try valueOrErrno("fsync a temporary file for \(target)") { fsync(fd) }
    }

    /// The file's name, giving the unnamed file a random one in its directory first.
    func name() throws(SystemError) -> String {
        if path == nil {
            let unnamed = "/proc/self/fd/\(fd)"
            try giveName { candidate in linkat(AT_FDCWD, unnamed, AT_FDCWD, candidate, AT_SYMLINK_FOLLOW) }
        }
        return path!
    }

    /// Links the finished file at `destination`; EEXIST when something is there already. linkat(2) through
    /// /proc/self/fd needs no privilege (AT_EMPTY_PATH would).
    func link(to destination: String) throws(SystemError) {
        let source = path ?? "/proc/self/fd/\(fd)"
        _ = try valueOrErrno("link \(destination)") {
            linkat(AT_FDCWD, source, AT_FDCWD, destination, path == nil ? AT_SYMLINK_FOLLOW : 0)
        }
    }

    /// Runs `create` on `.<target>.ocicred-tmp-<16 hex>` beside the target until it does not fail with EEXIST
    /// (64 random bits: a collision is not expected, but it is retried rather than reported); `create` returns
    /// a descriptor to keep, or 0 when it only made the name.
    private func giveName(_ create: (String) -> Int32) throws(SystemError) {
        for attempt in 0..<4 {
            let suffix = String(UInt64.random(in: .min ... .max), radix: 16)
            let candidate =
                FileIO.directoryName(target) + "/." + FileIO.baseName(target) + FileIO.temporaryMarker
                + String(repeating: "0", count: 16 - suffix.count) + suffix
            do {
                let result = try valueOrErrno("create \(candidate)") { create(candidate) }
                if fd < 0 { fd = result }
                path = candidate
                return
            } catch {
                if error.code != EEXIST || attempt == 3 { throw error }
            }
        }
    }

    /// Closes after a successful rename (the name now belongs to the target).
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Removes the temporary name (if any) and closes; safe to call more than once.
    func discard() {
        if fd >= 0, let path { unlink(path) }
        close()
    }

    deinit { close() }
}

internal import Glibc

/// The rule for the places that hold secrets — the store directory, the key file, the cache directories — as
/// ssh applies it to `~/.ssh` (StrictModes): they and the directory they sit in must belong to us (or root) and
/// be writable by nobody else, or another user could plant a lock symlink, swap an entry or read the key.
/// Anything else is refused with the path and the command that fixes it; nothing is loosened or tightened behind
/// the user's back.
///
/// A sticky parent directory (`/tmp`, a `medium: Memory` emptyDir, a Kubernetes Secret volume) is accepted:
/// there others cannot rename or remove an entry they do not own. A key file may be group-readable, because
/// Kubernetes makes mounted Secret files readable by the pod's fsGroup; never other-readable. A group-writable
/// directory is accepted when its group is a user-private group (see `UserPrivateGroup`), as Debian's OpenSSH
/// accepts it: `mkdir -p` under Fedora's and RHEL's umask 002 makes `~/.local/share` 0775.
package enum PrivatePath {
    /// Why a path was refused: a whole sentence naming the path and the fix.
    package struct Unsafe: Error, Equatable, CustomStringConvertible {
        package let path: String
        package let description: String
    }

    /// Creates `directory` (0700, parents too) when it is missing, then checks it as `checkDirectory` does.
    package static func prepareDirectory(_ directory: String) throws(Unsafe) {
        do {
            try FileIO.makeDirectory(directory)
        } catch {
            throw Unsafe(path: directory, description: "cannot create the directory: \(error)")
        }
        try checkDirectory(directory)
    }

    /// Checks an existing `directory` and its parent; a missing one passes (nothing can be planted in it).
    package static func checkDirectory(_ directory: String) throws(Unsafe) {
        guard let info = try status(directory) else { return }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw Unsafe(
                path: directory,
                description: "\(directory) is \(FileKind(mode: info.st_mode)), where ocicred keeps a private "
                    + "directory; move it away")
        }
        try checkOwner(info, path: directory, what: "directory")
        if info.st_mode & 0o022 != 0 && !UserPrivateGroup.excuses(info) {
            throw Unsafe(
                path: directory,
                description: "other users can write to \(directory) (mode \(octal(info.st_mode))) and could plant or "
                    + "swap files in it; run `chmod go-w \(directory)` (ocicred creates it 0700)")
        }
        try checkParent(of: directory)
    }

    /// Checks an existing key file and its directory; a missing one passes (it is created 0600 later).
    package static func checkKeyFile(_ path: String) throws(Unsafe) {
        guard let info = try status(path) else { return }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw Unsafe(path: path, description: "the key file \(path) is \(FileKind(mode: info.st_mode)); remove it")
        }
        try checkOwner(info, path: path, what: "key file")
        if info.st_mode & 0o037 != 0 {
            throw Unsafe(
                path: path,
                description: "the key file \(path) is open to other users (mode \(octal(info.st_mode))); run "
                    + "`chmod 600 \(path)` (from a Kubernetes Secret: defaultMode: 0400)")
        }
        try checkParent(of: path)
    }

    private static func checkParent(of path: String) throws(Unsafe) {
        let parent = FileIO.directoryName(path)
        guard parent != path, let info = try status(parent) else { return }
        try checkOwner(info, path: parent, what: "directory")
        if info.st_mode & 0o022 != 0 && info.st_mode & S_ISVTX == 0 && !UserPrivateGroup.excuses(info) {
            throw Unsafe(
                path: parent,
                description: "other users can write to \(parent) (mode \(octal(info.st_mode))) and could replace "
                    + "\(FileIO.baseName(path)) in it; run `chmod go-w \(parent)`, or keep ocicred's files in a "
                    + "directory only you can write")
        }
    }

    private static func checkOwner(_ info: stat, path: String, what: String) throws(Unsafe) {
        let me = geteuid()
        guard info.st_uid == me || info.st_uid == 0 else {
            throw Unsafe(
                path: path,
                description: "the \(what) \(path) belongs to uid \(info.st_uid), not to you (uid \(me)); use one you "
                    + "own")
        }
    }

    /// stat(2) following symlinks (the target is what holds the secret), nil when nothing is there.
    private static func status(_ path: String) throws(Unsafe) -> stat? {
        var info = stat()
        do {
            _ = try valueOrErrno("stat \(path)") { stat(path, &info) }
        } catch {
            if error.code == ENOENT || error.code == ENOTDIR { return nil }
            throw Unsafe(path: path, description: error.description)
        }
        return info
    }

    private static func octal(_ mode: mode_t) -> String {
        let bits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - bits.count)) + bits
    }
}

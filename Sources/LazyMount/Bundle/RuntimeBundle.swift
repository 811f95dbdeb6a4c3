import SystemSupport
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// An OCI runtime bundle (runtime-spec bundle.md) over a lazy mount: DIR/config.json from the image config, and
/// DIR/rootfs a writable overlay whose lower layer is the read-only FUSE mount at DIR/lower and whose upper and
/// work directories are DIR/upper and DIR/work — so a container's writes never reach the image. Kernel overlayfs
/// as root; fuse-overlayfs otherwise (an unprivileged user may not mount overlayfs over FUSE).
///
/// Taking it apart goes top down: the overlay, then the FUSE mount. While a container still has the overlay
/// (its root, or podman's own overlay stacked on it), that is refused with who holds it: unmounting under a
/// running container would leave it reading a filesystem that no longer answers.
public struct RuntimeBundle: Sendable {
    public struct Options: Sendable {
        /// Keep DIR/upper (the container's writes) when the bundle is taken apart, and use an existing one.
        public var keepUpper = false
        /// nil: a bundle for root. Otherwise the user namespace's maps (`umoci unpack --rootless`).
        public var rootless: RuntimeSpec.Rootless?
        public var hostname = "ocicred"

        public init() {}
    }

    public let directory: String
    public let options: Options

    public init(directory: String, options: Options) {
        self.directory = directory
        self.options = options
    }

    public var configPath: String { directory + "/config.json" }
    public var rootfs: String { directory + "/rootfs" }
    public var lower: String { directory + "/lower" }
    public var upper: String { directory + "/upper" }
    public var work: String { directory + "/work" }

    /// Creates the layout. DIR may exist; it must not hold a config.json or a non-empty rootfs or lower (another
    /// bundle, or a mistake), nor an upper directory unless `keepUpper` says to reuse it.
    func prepare() throws(LazyMountError) {
        for path in [directory, rootfs, lower, work] {
            do {
                try FileIO.makeDirectory(path, mode: 0o755)
            } catch {
                throw .bundle(reason: "cannot create \(error)")
            }
        }
        guard access(configPath, F_OK) != 0 else {
            throw .bundle(reason: "\(configPath) exists: \(directory) already holds a bundle")
        }
        for path in [rootfs, lower] where !Self.isEmptyDirectory(path) {
            throw .bundle(reason: "\(path) is not an empty directory")
        }
        if !options.keepUpper && !Self.isEmptyDirectory(upper) && access(upper, F_OK) == 0 {
            throw .bundle(
                reason: "\(upper) holds an earlier container's writes: pass --keep-upper to use them, or remove it")
        }
        do {
            try FileIO.makeDirectory(upper, mode: 0o755)
        } catch {
            throw .bundle(reason: "cannot create \(error)")
        }
        for path in [directory, rootfs, lower, upper, work] where path.contains(",") || path.contains(":") {
            throw .bundle(reason: "\(path) holds a comma or colon, which overlay mount options cannot carry")
        }
    }

    func writeConfig(_ spec: RuntimeSpec) throws(LazyMountError) {
        try BundleFiles.write(try spec.encoded(), to: configPath)
    }

    /// Mounts the overlay on DIR/rootfs; the FUSE mount at DIR/lower must be serving already.
    func mountOverlay() throws(LazyMountError) {
        let data = "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)"
        if geteuid() == 0 {
            do {
                _ = try valueOrErrno("mount overlayfs on \(rootfs)") { mount("overlay", rootfs, "overlay", 0, data) }
            } catch {
                throw .bundle(reason: error.description)
            }
            return
        }
        let status = Self.spawn(["fuse-overlayfs", "-o", data, rootfs])
        guard status == 0 else {
            throw .bundle(
                reason: "fuse-overlayfs on \(rootfs) failed (status \(status)); is fuse-overlayfs installed?")
        }
    }

    /// `ocicred unmount DIR` for a bundle: refuses while anything holds the overlay, then unmounts it, then the
    /// FUSE mount (which ends the `ocicred mount` process, which then removes what it made).
    public static func unmount(_ directory: String) throws(LazyMountError) {
        let bundle = RuntimeBundle(directory: directory, options: Options())
        guard let lowerMount = MountTable.mount(at: bundle.lower), lowerMount.type == "fuse.ocicred" else {
            throw .mount(mountpoint: directory, reason: "not a bundle mounted by `ocicred mount --bundle`")
        }
        let overlay = MountTable.mount(at: bundle.rootfs).flatMap { isOverlay($0) ? $0 : nil }
        let devices = Set([lowerMount.device] + (overlay.map { [$0.device] } ?? []))
        let paths = [resolved(bundle.rootfs), resolved(bundle.lower)]
        let users = MountTable.users(devices: devices, paths: paths, ownMount: resolved(bundle.rootfs))
        guard users.isEmpty else { throw .busy(path: bundle.rootfs, users: users) }
        if let overlay { try unmountOverlay(at: bundle.rootfs, type: overlay.type) }
        try FuseSession.unmount(bundle.lower)
    }

    /// What the mount process does once its FUSE loop has ended: an overlay still there (the FUSE mount was
    /// taken away under it) is detached, and what `prepare` made is removed — DIR/upper too unless kept.
    func finish() {
        if let overlay = MountTable.mount(at: rootfs), Self.isOverlay(overlay) {
            if umount2(rootfs, Int32(MNT_DETACH)) != 0 { _ = Self.spawn(["fusermount3", "-u", "-z", rootfs]) }
        }
        unlink(configPath)
        Self.removeTree(work)
        if !options.keepUpper { Self.removeTree(upper) }
        rmdir(rootfs)
        rmdir(lower)
    }

    /// `podman run` arguments for the bundle in `directory`, from its config.json.
    public static func podmanArguments(_ directory: String) throws(LazyMountError) -> [String] {
        let bundle = RuntimeBundle(directory: directory, options: Options())
        guard let bytes = BundleFiles.read(bundle.configPath) else {
            throw .bundle(
                reason: "\(bundle.configPath) cannot be read: is \(directory) a bundle mounted with --bundle?")
        }
        return try RuntimeSpec.decode(bytes).podmanArguments(rootfs: resolved(bundle.rootfs))
    }

    static func isOverlay(_ line: MountTable.Line) -> Bool {
        line.type == "overlay" || line.type == "fuse.fuse-overlayfs"
    }

    static func unmountOverlay(at path: String, type: String) throws(LazyMountError) {
        if type == "overlay" || geteuid() == 0 {
            do {
                _ = try valueOrErrno("umount \(path)") { umount2(path, 0) }
            } catch {
                if error.code == EBUSY { throw .busy(path: path, users: ["a process has files open under it"]) }
                throw .mount(mountpoint: path, reason: error.description)
            }
            return
        }
        guard spawn(["fusermount3", "-u", path]) == 0 else {
            throw .busy(path: path, users: ["a process that has files open under it (fusermount3 -u failed)"])
        }
    }

    static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    static func isEmptyDirectory(_ path: String) -> Bool {
        guard let stream = opendir(path) else { return false }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { return false }
        }
        return true
    }

    /// Removes `path` and everything below it without following symlinks (a container may have left links to
    /// anywhere in the upper directory).
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            chmod(path, 0o700)  // overlayfs leaves work/work with mode 000
            if let stream = opendir(path) {
                var names: [String] = []
                while let entry = readdir(stream) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) {
                        String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(stream)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Runs a helper program (fuse-overlayfs, fusermount3) found on PATH and returns its exit status.
    static func spawn(_ arguments: [String]) -> Int32 { ChildProcess.exitStatus(arguments) ?? -1 }
}

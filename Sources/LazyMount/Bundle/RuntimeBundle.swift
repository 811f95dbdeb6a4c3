internal import FoundationEssentials
internal import SystemSupport

/// An OCI runtime bundle (runtime-spec bundle.md) over a lazy mount: DIR/config.json from the image config, and
/// DIR/rootfs a writable overlay whose lower layer is the read-only FUSE mount at DIR/lower and whose upper and
/// work directories are DIR/upper and DIR/work — so a container's writes never reach the image. Kernel overlayfs
/// as root; fuse-overlayfs otherwise (an unprivileged user may not mount overlayfs over FUSE).
///
/// Taking it apart goes top down: the overlay, then the FUSE mount. While a container still has the overlay
/// (its root, or podman's own overlay stacked on it), that is refused with who holds it: unmounting under a
/// running container would leave it reading a filesystem that no longer answers.
package struct RuntimeBundle: Sendable {
    package struct Options: Sendable {
        /// Keep DIR/upper (the container's writes) when the bundle is taken apart, and use an existing one.
        package var keepUpper = false
        /// nil: a bundle for root. Otherwise the user namespace's maps (`umoci unpack --rootless`).
        package var rootless: RuntimeSpec.Rootless?
        package var hostname = "ocicred"

        package init() {}
    }

    package let directory: String
    package let options: Options

    package init(directory: String, options: Options) {
        self.directory = directory
        self.options = options
    }

    package var configPath: String { directory + "/config.json" }
    package var rootfs: String { directory + "/rootfs" }
    package var lower: String { directory + "/lower" }
    package var upper: String { directory + "/upper" }
    package var work: String { directory + "/work" }

    /// What `prepare` made, so that taking the bundle apart removes exactly that and nothing a user or a
    /// container placed.
    struct Prepared: Sendable {
        /// Of rootfs, lower, upper and work, those this mount created.
        var created: Set<String> = []
        /// Those that existed, empty, and were taken for this mount: what is in them afterwards is this mount's.
        var taken: Set<String> = []
    }

    /// Creates the layout, as private as `umoci unpack`'s: DIR 0700 (and rootfs, lower, work), so no other user reaches
    /// the image's files — setuid binaries included — through rootfs, lower, upper or work. DIR may exist (it is
    /// made 0700); it must not hold a config.json, and rootfs, lower and work, when present, must be empty
    /// directories, as must upper unless `keepUpper` says to reuse it. None of them may be a symlink.
    func prepare() throws(LazyMountError) -> Prepared {
        for path in [directory, rootfs, lower, upper, work] where path.contains(",") || path.contains(":") {
            throw .bundle(reason: "\(path) holds a comma or colon, which overlay mount options cannot carry")
        }
        var prepared = Prepared()
        do {
            try FileIO.makeDirectory(FileIO.directoryName(directory))
            try DirectoryTree.create(directory)
            try DirectoryTree.setMode(directory, 0o700)
        } catch {
            throw .bundle(reason: "cannot make \(directory) private: \(error)")
        }
        guard !FileIO.exists(configPath) else {
            throw .bundle(reason: "\(configPath) exists: \(directory) already holds a bundle")
        }
        for path in [rootfs, lower, work, upper] {
            let reused = path == upper && options.keepUpper
            // Upper's own mode is the container's `/` (overlayfs takes the root's attributes from upper), so it
            // is the usual 0755; DIR's 0700 is what keeps other users out of it.
            let mode: UInt32 = path == upper ? 0o755 : 0o700
            do {
                if try DirectoryTree.create(path, mode: mode) {
                    prepared.created.insert(path)
                    continue
                }
                let empty = try DirectoryTree.isEmpty(path)
                guard reused || empty else {
                    throw LazyMountError.bundle(
                        reason: path == upper
                            ? "\(upper) holds an earlier container's writes: pass --keep-upper to use them, or remove it"
                            : "\(path) is not empty: it was not made by ocicred; remove it or choose another directory")
                }
                if path != upper { try DirectoryTree.setMode(path, mode) }
                if empty { prepared.taken.insert(path) }
            } catch let error as LazyMountError {
                finish(prepared)
                throw error
            } catch {
                finish(prepared)
                throw .bundle(reason: "cannot use \(path): \(error)")
            }
        }
        return prepared
    }

    func writeConfig(_ spec: RuntimeSpec) throws(LazyMountError) {
        try BundleFiles.write(try spec.encoded(), to: configPath)
    }

    /// Mounts the overlay on DIR/rootfs; the FUSE mount at DIR/lower must be serving already. It keeps setuid
    /// and devices (the container needs them); DIR's mode is what keeps other users out.
    func mountOverlay() throws(LazyMountError) {
        let data = "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)"
        if ProcessIdentity.isRoot {
            do {
                try FileSystemMount.mountOverlay(at: rootfs, options: data)
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
    package static func unmount(_ directory: String) throws(LazyMountError) {
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

    /// What the mount process does once its FUSE loop has ended (or a start failed): an overlay still there (the
    /// FUSE mount was taken away under it) is detached, and what this mount made is removed — config.json,
    /// the directories `prepare` created, and in a work or upper directory that existed before only what the
    /// overlay and the container put there. DIR/upper stays when kept. Failures are logged by the caller's
    /// `ocicred unmount`; here they leave the rest in place rather than guess.
    func finish(_ prepared: Prepared) {
        if let overlay = MountTable.mount(at: rootfs), Self.isOverlay(overlay) {
            if (try? FileSystemMount.unmount(rootfs, detach: true)) == nil {
                _ = Self.spawn(["fusermount3", "-u", "-z", rootfs])
            }
        }
        _ = try? FileIO.remove(configPath)
        var clear = [work]
        if !options.keepUpper { clear.append(upper) }
        for path in clear {
            if prepared.created.contains(path) {
                try? DirectoryTree.remove(path)
            } else if prepared.taken.contains(path) {
                try? DirectoryTree.empty(path)
            }
        }
        for path in [rootfs, lower] where prepared.created.contains(path) { DirectoryTree.removeIfEmpty(path) }
    }

    /// `podman run` arguments for the bundle in `directory`, from its config.json.
    package static func podmanArguments(_ directory: String) throws(LazyMountError) -> [String] {
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
        if type == "overlay" || ProcessIdentity.isRoot {
            do {
                try FileSystemMount.unmount(path)
            } catch {
                if error.isBusy { throw .busy(path: path, users: ["a process has files open under it"]) }
                throw .mount(mountpoint: path, reason: error.description)
            }
            return
        }
        guard spawn(["fusermount3", "-u", path]) == 0 else {
            throw .busy(path: path, users: ["a process that has files open under it (fusermount3 -u failed)"])
        }
    }

    static func resolved(_ path: String) -> String { (try? FileSystemMount.realPath(path)) ?? path }

    /// Runs a helper program (fuse-overlayfs, fusermount3) found on PATH and returns its exit status.
    static func spawn(_ arguments: [String]) -> Int32 { ChildProcess.exitStatus(arguments) ?? -1 }
}

internal import CFuse
internal import Glibc
internal import Synchronization
internal import SystemSupport

/// What the kernel can ask of a read-only filesystem. Each call answers its `FuseRequest` exactly once, now or
/// later; none may block on the network, since they run on libfuse's worker threads.
protocol FuseFilesystem: AnyObject, Sendable {
    func initialize()
    func lookup(_ request: FuseRequest, parent: UInt64, name: String)
    func getattr(_ request: FuseRequest, inode: UInt64)
    func readlink(_ request: FuseRequest, inode: UInt64)
    /// nil to allow the open (`writing`: asked for write access or truncation), else why not.
    func open(inode: UInt64, writing: Bool) -> FuseError?
    func read(_ request: FuseRequest, inode: UInt64, size: Int, offset: Int64)
    func readdirplus(_ request: FuseRequest, inode: UInt64, size: Int, offset: Int64)
    func statfs(_ request: FuseRequest)
    func getxattr(_ request: FuseRequest, inode: UInt64, name: String, size: Int)
    func listxattr(_ request: FuseRequest, inode: UInt64, size: Int)
}

/// One mounted FUSE session over libfuse3's low-level API: mount, the multithreaded request loop on its own
/// thread, and the unmount. The loop ends when the kernel connection goes away — `ocicred unmount`, `umount`, or
/// the signal handling `ImageMount` installs, which unmounts the same way — so every exit path is one path.
final class FuseSession: @unchecked Sendable {
    /// `struct fuse_session *`, owned; destroyed in `close()`.
    private let session: OpaquePointer
    private let filesystem: Unmanaged<AnyObject>
    let mountpoint: String
    private let mounted = Mutex(false)

    /// Creates the session with `options` (`-o` mount options, e.g. `ro`, `default_permissions`) and mounts it
    /// at `mountpoint`.
    init(mountpoint: String, options: [String], filesystem: some FuseFilesystem) throws(LazyMountError) {
        self.mountpoint = mountpoint
        let retained = Unmanaged<AnyObject>.passRetained(filesystem as AnyObject)
        self.filesystem = retained
        let arguments = ["ocicred"] + (options.isEmpty ? [] : ["-o", options.joined(separator: ",")])
        var cStrings = arguments.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var operations = Self.operations(for: filesystem)
        let created: OpaquePointer? = cStrings.withUnsafeMutableBufferPointer { argv in
            var args = fuse_args(argc: Int32(argv.count), argv: argv.baseAddress, allocated: 0)
            defer { fuse_opt_free_args(&args) }
            return fuse_session_new(
                &args, &operations, MemoryLayout<fuse_lowlevel_ops>.size, retained.toOpaque())
        }
        guard let created else {
            retained.release()
            throw .mount(mountpoint: mountpoint, reason: "libfuse refused the mount options \(options)")
        }
        session = created
        guard fuse_session_mount(session, mountpoint) == 0 else {
            fuse_session_destroy(session)
            retained.release()
            throw .mount(
                mountpoint: mountpoint,
                reason: "the kernel refused the mount (is /dev/fuse there, the directory empty and not mounted, "
                    + "and fusermount3 installed?)")
        }
        mounted.withLock { $0 = true }
    }

    /// Runs the request loop with up to `maxThreads` workers on a thread of its own and returns when the
    /// filesystem is unmounted. The session stays usable for late replies until `close()`.
    func run(maxThreads: Int) async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let job = LoopJob(session: session, maxThreads: UInt32(max(2, maxThreads)), continuation: continuation)
            var thread = pthread_t()
            let context = Unmanaged.passRetained(job).toOpaque()
            let created = pthread_create(
                &thread, nil,
                { context in
                    let job = Unmanaged<LoopJob>.fromOpaque(context!).takeRetainedValue()
                    let result = cfuse_session_loop_mt(job.session, job.maxThreads)
                    job.continuation.resume(returning: result)
                    return nil
                }, context)
            if created != 0 {
                Unmanaged<LoopJob>.fromOpaque(context).release()
                continuation.resume(returning: -created)
            } else {
                // Fails only for a thread that is not joinable or does not exist; this one was just created.
                let detached = pthread_detach(thread)
                assert(detached == 0, "pthread_detach: \(detached)")
            }
        }
    }

    /// Detaches the mount from the namespace, which ends the loop: what SIGTERM and `ocicred unmount` do.
    static func unmount(_ mountpoint: String) throws(LazyMountError) {
        let detached: SystemError
        do {
            try FileSystemMount.unmount(mountpoint, detach: true)
            return
        } catch {
            detached = error
        }
        // Not root: the setuid helper that mounted it unmounts it.
        if ChildProcess.exitStatus(["fusermount3", "-u", "-z", mountpoint]) == 0 { return }
        throw .mount(mountpoint: mountpoint, reason: "cannot unmount: \(detached.symbol)")
    }

    /// Unmounts if still mounted and frees the session. Call once every outstanding reply has been sent.
    func close() {
        if mounted.withLock({
            let was = $0; $0 = false; return was
        }) {
            fuse_session_unmount(session)
        }
        fuse_session_destroy(session)
        filesystem.release()
    }

    private final class LoopJob: @unchecked Sendable {
        let session: OpaquePointer
        let maxThreads: UInt32
        let continuation: CheckedContinuation<Int32, Never>
        init(session: OpaquePointer, maxThreads: UInt32, continuation: CheckedContinuation<Int32, Never>) {
            self.session = session
            self.maxThreads = maxThreads
            self.continuation = continuation
        }
    }

    /// The C operation table. Each entry recovers the filesystem from the request's user data; entries left nil
    /// (opendir, release, …) get libfuse's defaults, which suit a filesystem without per-handle state.
    private static func operations(for filesystem: some FuseFilesystem) -> fuse_lowlevel_ops {
        var operations = fuse_lowlevel_ops()
        operations.`init` = { userData, connection in
            if let connection { cfuse_want_read_only_caps(connection) }
            guard let userData else { return }
            (Unmanaged<AnyObject>.fromOpaque(userData).takeUnretainedValue() as? any FuseFilesystem)?.initialize()
        }
        operations.lookup = { request, parent, name in
            guard let request else { return }
            let wrapped = FuseRequest(request)
            FuseSession.filesystem(wrapped)?.lookup(wrapped, parent: parent, name: String(cString: name!))
        }
        operations.forget = { request, _, _ in
            if let request { FuseRequest(request).none() }
        }
        operations.forget_multi = { request, _, _ in
            if let request { FuseRequest(request).none() }
        }
        operations.getattr = { request, inode, _ in
            guard let request else { return }
            let wrapped = FuseRequest(request)
            FuseSession.filesystem(wrapped)?.getattr(wrapped, inode: inode)
        }
        operations.readlink = { request, inode in
            guard let request else { return }
            let wrapped = FuseRequest(request)
            FuseSession.filesystem(wrapped)?.readlink(wrapped, inode: inode)
        }
        operations.open = { request, inode, info in
            guard let request, let info else { return }
            let wrapped = FuseRequest(request)
            let flags = info.pointee.flags
            let writing = flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0
            // Without a filesystem the request is already answered (EIO).
            guard let filesystem = FuseSession.filesystem(wrapped) else { return }
            if let refused = filesystem.open(inode: inode, writing: writing) { return wrapped.fail(refused) }
            cfuse_keep_cache(info)
            wrapped.opened(info)
        }
        addContentOperations(to: &operations)
        return operations
    }

    /// The entries that answer with file contents and what the filesystem holds about them.
    private static func addContentOperations(to operations: inout fuse_lowlevel_ops) {
        operations.read = { request, inode, size, offset, _ in
            guard let request else { return }
            let wrapped = FuseRequest(request)
            FuseSession.filesystem(wrapped)?.read(wrapped, inode: inode, size: size, offset: Int64(offset))
        }
        operations.readdirplus = { request, inode, size, offset, _ in
            guard let request else { return }
            let wrapped = FuseRequest(request)
            FuseSession.filesystem(wrapped)?.readdirplus(wrapped, inode: inode, size: size, offset: Int64(offset))
        }
        operations.statfs = { request, _ in
            guard let request else { return }
            let wrapped = FuseRequest(request)
            FuseSession.filesystem(wrapped)?.statfs(wrapped)
        }
        operations.getxattr = { request, inode, name, size in
            guard let request else { return }
            let wrapped = FuseRequest(request)
            FuseSession.filesystem(wrapped)?.getxattr(wrapped, inode: inode, name: String(cString: name!), size: size)
        }
        operations.listxattr = { request, inode, size in
            guard let request else { return }
            let wrapped = FuseRequest(request)
            FuseSession.filesystem(wrapped)?.listxattr(wrapped, inode: inode, size: size)
        }
    }

    private static func filesystem(_ request: FuseRequest) -> (any FuseFilesystem)? {
        guard let userData = request.userData else {
            request.fail(.io)
            return nil
        }
        return Unmanaged<AnyObject>.fromOpaque(userData).takeUnretainedValue() as? any FuseFilesystem
    }
}

package import Credentials
package import Crypto
internal import FoundationEssentials
package import Logging
package import Registry
package import SystemSupport

/// `ocicred mount IMAGE DIR`: the image's merged tree, read-only over FUSE, its file bytes fetched span by span
/// from the registry as they are read. Credentials come through the client's credential source — the same
/// resolver and token cache the refresh sidecar keeps fresh — and are asked for again on every 401, so a mount
/// outlives any one token.
package struct ImageMount: Sendable {
    package struct Options: Sendable {
        /// The longest a read waits, retries included, before it fails with EIO.
        package var fetchTimeout: Duration = .seconds(30)
        package var allowOther = false
        /// Fetch every span of every layer in the background, at low priority, after mounting.
        package var prefetch = false
        package var maxThreads = 16
        package var span: Int64 = ImageIndexer.defaultSpan
        package var platform: Platform = .host
        /// Make the directory an OCI runtime bundle (config.json, rootfs overlay) instead of mounting on it.
        package var bundle: RuntimeBundle.Options?
        /// Record a start-up profile until unmount, or for `recordFor` after mounting.
        package var recordProfile = false
        package var recordFor: Duration?
        /// Push the recorded profile to the image's repository as a referrer (and keep it in the cache).
        package var pushProfile = false
        /// Play back a profile found in the cache or the registry.
        package var useProfile = true
        /// Which pushed indexes and profiles may be read; by default none (the mount builds its own index).
        package var trust = IndexTrust()
        /// Signs a pushed profile (cosign format), so mounts trusting the public key read it.
        package var signKey: ECDSAKey?
        /// Indexing progress when the mount has to build the index (ImageIndexer's callback).
        package var indexProgress: @Sendable (Int, Int, String, Int64, Int64) -> Void = { _, _, _, _, _ in }
        package init() {}
    }

    /// What a running mount reports once it is ready.
    package struct Mounted: Sendable {
        package var index: ImageIndex
        package var indexPath: String
        /// The bundle's runtime configuration, when the mount is a bundle.
        package var runtimeSpec: RuntimeSpec?
        /// Spans of a start-up profile being fetched ahead, 0 without one.
        package var profileSpans: Int
    }

    package var client: RegistryClient
    package var reference: Reference
    package var environment: OcicredEnvironment
    package var options: Options
    package var logger: Logger

    package init(
        client: RegistryClient, reference: Reference, environment: OcicredEnvironment, options: Options,
        logger: Logger
    ) {
        self.client = client
        self.reference = reference
        self.environment = environment
        self.options = options
        self.logger = logger
    }

    /// Where verified spans are kept between mounts.
    package var chunkDirectory: String { environment.cacheHome + "/ocicred/chunks" }

    /// Indexes the image (or takes the cached index), mounts it at `mountpoint`, calls `ready`, and serves until
    /// the filesystem is unmounted — by `ocicred unmount`, `umount`, or SIGTERM/SIGINT/SIGHUP. With
    /// `options.bundle`, `mountpoint` becomes a runtime bundle: the image at `lower`, an overlay at `rootfs`.
    package func run(at mountpoint: String, ready: @Sendable (Mounted) -> Void) async throws(LazyMountError) {
        let bundle = options.bundle.map { RuntimeBundle(directory: mountpoint, options: $0) }
        let prepared = try bundle?.prepare()
        if bundle == nil { try Self.checkMountpoint(mountpoint) }
        do throws(LazyMountError) {
            try await serve(at: mountpoint, bundle: bundle, ready: ready)
        } catch {
            if let bundle, let prepared { bundle.finish(prepared) }
            throw error
        }
        if let bundle, let prepared { bundle.finish(prepared) }
    }

    private func serve(at mountpoint: String, bundle: RuntimeBundle?, ready: @Sendable (Mounted) -> Void)
        async throws(LazyMountError)
    {
        var client = client
        client.timeout = min(client.timeout, options.fetchTimeout)
        client.connectTimeout = min(client.connectTimeout, options.fetchTimeout)
        let (image, index, indexPath) = try await index(client: client)
        for skipped in index.skippedEntries {
            logger.warning(
                "skipped a layer entry whose name leaves the image's root", metadata: ["entry": "\(skipped)"])
        }
        let profile = options.useProfile ? await profile(for: index, client: client) : nil
        let recorder = options.recordProfile ? ProfileRecorder() : nil
        let filesystem = LazyFilesystem(
            index: index, source: RegistryBlobSource(client: client, repository: reference.repository),
            cache: ChunkCache(directory: chunkDirectory, memorySpans: ChunkCache.memorySpans(span: index.span)),
            fetchTimeout: options.fetchTimeout, logger: logger, recorder: recorder)
        // Ahead of everything else, the container included: the profile lists what it will need first.
        let playback = profile.map { startPlayback($0, on: filesystem) }
        var spec: RuntimeSpec?
        if let bundle { spec = try await runtimeSpec(for: bundle, image: image, filesystem: filesystem) }
        let (session, loop) = try await mount(filesystem, at: bundle?.lower ?? mountpoint, bundle: bundle, spec: spec)
        let restoreSignals = installSignals(bundle: bundle, mountpoint: mountpoint)
        logger.info("mounted", metadata: ["image": "\(reference.description)", "mountpoint": "\(mountpoint)"])
        ready(Mounted(index: index, indexPath: indexPath, runtimeSpec: spec, profileSpans: profile?.spans.count ?? 0))

        let prefetch = options.prefetch ? Task(priority: .background) { await Self.prefetchAll(filesystem) } : nil
        let mount = self
        let pushClient = client
        let recordingEnds = options.recordFor.map { limit in
            Task {
                try? await Task.sleep(for: limit)
                if !Task.isCancelled { await mount.saveProfile(recorder, index: index, client: pushClient) }
            }
        }
        let status = await loop.value
        prefetch?.cancel()
        playback?.cancel()
        recordingEnds?.cancel()
        restoreSignals()
        await close(session, of: filesystem)
        logger.info("unmounted", metadata: ["mountpoint": "\(mountpoint)", "status": "\(status)"])
        await saveProfile(recorder, index: index, client: client)
        if status < 0 {
            throw .mount(
                mountpoint: mountpoint,
                reason: "the FUSE loop failed: \(SystemError(code: -status, operation: "fuse_session_loop").symbol)")
        }
    }

    /// Fetches `profile`'s spans ahead of the container, logging when they are all here.
    private func startPlayback(_ profile: StartupProfile, on filesystem: LazyFilesystem) -> Task<Void, Never> {
        let logger = logger
        return Task(priority: .medium) {
            let started = ContinuousClock.now
            let fetched = await filesystem.playBack(profile)
            logger.info(
                "start-up profile fetched",
                metadata: [
                    "spans": "\(fetched)/\(profile.spans.count)", "seconds": "\(ContinuousClock.now - started)",
                ])
        }
    }

    /// The bundle's runtime configuration, from the image's config and its own account files, read lazily
    /// through the index: only their spans are fetched.
    private func runtimeSpec(for bundle: RuntimeBundle, image: ResolvedImage, filesystem: LazyFilesystem)
        async throws(LazyMountError) -> RuntimeSpec
    {
        let passwd = try await filesystem.contents(ofImagePath: "/etc/passwd")
        let group = try await filesystem.contents(ofImagePath: "/etc/group")
        return try RuntimeSpec.forImage(
            try ImageConfiguration.decode(image.config), passwd: passwd, group: group,
            rootless: bundle.options.rootless, hostname: bundle.options.hostname)
    }

    /// Mounts `filesystem` at `fuseMountpoint` and starts its request loop; a bundle then gets its config and
    /// overlay, and if that fails the FUSE mount is taken down again before the error is thrown.
    private func mount(
        _ filesystem: LazyFilesystem, at fuseMountpoint: String, bundle: RuntimeBundle?, spec: RuntimeSpec?
    ) async throws(LazyMountError) -> (FuseSession, Task<Int32, Never>) {
        var mountOptions = ["ro", "default_permissions", "fsname=\(reference.description)", "subtype=ocicred"]
        // A plain mount lends nobody the image's setuid binaries or device nodes, least of all the other users of
        // an --allow-other mount (libfuse's default, said here so that it stays so). A bundle's lazy mount keeps
        // them, as `umoci unpack` does: overlayfs honours its lower layer's nosuid, and a container may need
        // setuid; DIR's 0700 is what keeps other users away from it.
        mountOptions += bundle == nil ? ["nosuid", "nodev"] : ["suid", "dev"]
        if options.allowOther { mountOptions.append("allow_other") }
        let session = try FuseSession(mountpoint: fuseMountpoint, options: mountOptions, filesystem: filesystem)
        let maxThreads = options.maxThreads
        let loop = Task { await session.run(maxThreads: maxThreads) }
        guard let bundle, let spec else { return (session, loop) }
        do throws(LazyMountError) {
            try bundle.writeConfig(spec)
            try bundle.mountOverlay()
        } catch {
            try? FuseSession.unmount(fuseMountpoint)
            _ = await loop.value
            session.close()
            throw error
        }
        return (session, loop)
    }

    /// SIGTERM, SIGINT and SIGHUP unmount: a bundle top down (refused while a container still uses it), a plain
    /// mount at once. Returns what restores the default dispositions.
    private func installSignals(bundle: RuntimeBundle?, mountpoint: String) -> @Sendable () -> Void {
        guard let bundle else { return MountSignals.unmountOnSignal(mountpoint) }
        let logger = logger
        return MountSignals.onSignal {
            do throws(LazyMountError) {
                try RuntimeBundle.unmount(bundle.directory)
                return true
            } catch {
                logger.error("not unmounting", metadata: ["error": "\(error)"])
                return false
            }
        }
    }

    /// Replies still on their way need the session: waits for them (each is bounded by the fetch timeout), then
    /// frees it.
    private func close(_ session: FuseSession, of filesystem: LazyFilesystem) async {
        let drainUntil = ContinuousClock.now + options.fetchTimeout + .seconds(1)
        while filesystem.outstandingReads > 0 && ContinuousClock.now < drainUntil {
            try? await Task.sleep(for: .milliseconds(20))
        }
        session.close()
        let lost = FuseRequest.lostReplies.load(ordering: .relaxed)
        if lost > 0 {
            logger.info("replies the kernel no longer waited for (interrupted reads)", metadata: ["count": "\(lost)"])
        }
    }

    /// A profile for this index: the cached one, else the newest pushed to the registry that `trust` binds to the
    /// image (then cached); either is checked against the index first.
    func profile(for index: ImageIndex, client: RegistryClient) async -> StartupProfile? {
        let cache = ProfileCache(environment: environment)
        if let cached = cache.load(manifestDigest: index.manifestDigest, span: index.span) {
            do throws(LazyMountError) {
                try cached.check(against: index, source: cache.path(forManifest: index.manifestDigest))
                logger.info("start-up profile from the cache", metadata: ["spans": "\(cached.spans.count)"])
                return cached
            } catch {
                logger.warning("ignoring the cached start-up profile", metadata: ["error": "\(error)"])
            }
        }
        guard options.trust.allowsPushed else { return nil }
        do throws(LazyMountError) {
            guard
                let pushed = try await ProfileReferrer.fetch(
                    client: client, repository: reference.repository, index: index, trust: options.trust)
            else { return nil }
            logger.info("start-up profile from the registry (referrer)", metadata: ["spans": "\(pushed.spans.count)"])
            _ = try? cache.store(pushed)
            return pushed
        } catch {
            logger.warning("ignoring the start-up profile pushed to the registry", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Ends recording (once) and keeps the profile: in the cache, and pushed as a referrer when asked. Failing to
    /// keep it is logged, not fatal: the mount itself did its job.
    func saveProfile(_ recorder: ProfileRecorder?, index: ImageIndex, client: RegistryClient) async {
        guard let profile = recorder?.finish(manifestDigest: index.manifestDigest, span: index.span) else { return }
        do throws(LazyMountError) {
            let path = try ProfileCache(environment: environment).store(profile)
            logger.info(
                "start-up profile recorded",
                metadata: ["spans": "\(profile.spans.count)", "files": "\(profile.files.count)", "path": "\(path)"])
            if options.pushProfile {
                let digest = try await ProfileReferrer.push(profile, client: client, repository: reference.repository)
                logger.info("start-up profile pushed", metadata: ["artifact": "\(reference.repository)@\(digest)"])
                if let key = options.signKey {
                    let signature = try await IndexReferrer.sign(
                        artifact: digest, reference: reference, key: key, client: client)
                    logger.info("start-up profile signed", metadata: ["signature": "\(signature)"])
                }
            }
        } catch {
            logger.error("start-up profile not kept", metadata: ["error": "\(error)"])
        }
    }

    /// The index for the image: the cached one, else one pushed to the registry by `ocicred index --push` that
    /// `options.trust` binds to the image (found through the referrers API or its tag fallback), else built now by
    /// reading every layer once. Whatever its source, it is checked against the manifest before use.
    func index(client: RegistryClient) async throws(LazyMountError) -> (ResolvedImage, ImageIndex, String) {
        let cache = IndexCache(environment: environment)
        let indexer = ImageIndexer(client: client, span: options.span, progress: options.indexProgress)
        let image: ResolvedImage
        do throws(RegistryError) {
            image = try await client.resolveImage(reference, platform: options.platform)
        } catch {
            throw .registry(error)
        }
        let cachePath = cache.path(forManifest: image.manifestDigest)
        if let cached = cache.load(manifestDigest: image.manifestDigest, span: options.span) {
            do throws(LazyMountError) {
                try cached.check(against: image, source: cachePath)
                logger.info("index from the cache", metadata: ["manifest": "\(image.manifestDigest)"])
                return (image, cached, cachePath)
            } catch {
                logger.warning("ignoring the cached index", metadata: ["error": "\(error)"])
            }
        }
        if options.trust.allowsPushed {
            do throws(LazyMountError) {
                if let pushed = try await IndexReferrer.fetch(
                    client: client, repository: reference.repository, image: image, span: options.span,
                    trust: options.trust, keepIn: cache)
                {
                    logger.info(
                        "index from the registry (referrer)",
                        metadata: ["artifact": "\(pushed.artifact)", "trust": "\(pushed.binding)"])
                    return (image, pushed.index, cachePath)
                }
                logger.warning(
                    "no pushed index the mount may trust; building the index from the layers",
                    metadata: ["repository": "\(reference.repository)"])
            } catch {
                // A forged, altered or unbound artifact is not fatal: the layers themselves are verified while
                // indexing.
                logger.warning(
                    "ignoring the index pushed to the registry; building the index from the layers",
                    metadata: ["error": "\(error)"])
            }
        } else {
            logger.warning("\(IndexTrust.buildingNote(repository: reference.repository))")
        }
        let built = try await indexer.build(image)
        try built.check(against: image, source: "the index built from \(reference.description)")
        return (image, built, try cache.store(built))
    }

    /// `ocicred unmount DIR`: a bundle (its lazy mount at DIR/lower) is taken apart top down, anything else must
    /// be an ocicred mount at DIR.
    package static func unmountDirectoryOrBundle(_ directory: String) throws(LazyMountError) {
        if mountType(directory) == nil, mountType(directory + "/lower") == "fuse.ocicred" {
            try RuntimeBundle.unmount(directory)
        } else {
            try unmount(directory)
        }
    }

    /// A mount point must be an existing, empty directory with nothing mounted on it: mounting over files hides
    /// them, and a second mount stacked on a first leaves the first serving unseen.
    static func checkMountpoint(_ path: String) throws(LazyMountError) {
        guard FileIO.exists(path) else {
            throw .mount(mountpoint: path, reason: "no such directory; create it first (mkdir -p \(path))")
        }
        guard FileIO.isDirectory(path) else { throw .mount(mountpoint: path, reason: "it is not a directory") }
        if let type = mountType(path) {
            throw .mount(
                mountpoint: path, reason: "a \(type) filesystem is already mounted there; unmount it first")
        }
        let entries: [String]
        do {
            entries = try FileIO.list(path)
        } catch {
            throw .mount(mountpoint: path, reason: error.description)
        }
        guard entries.isEmpty else {
            throw .mount(
                mountpoint: path,
                reason: "the directory is not empty (it holds \(entries.count) entries); mount on an empty one")
        }
    }

    /// Unmounts an ocicred mount at `mountpoint`; refuses anything else, so a typo cannot unmount /home.
    package static func unmount(_ mountpoint: String) throws(LazyMountError) {
        guard let type = mountType(mountpoint) else {
            throw .mount(mountpoint: mountpoint, reason: "nothing is mounted there")
        }
        guard type == "fuse.ocicred" else {
            throw .mount(mountpoint: mountpoint, reason: "that is a \(type) mount, not an ocicred mount")
        }
        try FuseSession.unmount(mountpoint)
    }

    /// The filesystem type mounted exactly at `path`.
    static func mountType(_ path: String) -> String? { MountTable.mount(at: path)?.type }

    /// One run of spans at a time (`runBytes` of them, one request and one window each, as a sequential reader
    /// is read ahead), lowest priority, stopping at the first cancellation; errors are left for readers.
    static func prefetchAll(_ filesystem: LazyFilesystem) async {
        for reader in filesystem.readers {
            let spans = reader.layer.spans.count
            for start in stride(from: 0, to: spans, by: reader.runSpans) {
                if Task.isCancelled { return }
                let run = start..<min(start + reader.runSpans, spans)
                if reader.layer.compression == .gzip { reader.fetchRun(run) }
                for span in run { _ = await reader.spanWithinTimeout(span) }
            }
        }
    }
}

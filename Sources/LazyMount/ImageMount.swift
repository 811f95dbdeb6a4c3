public import Credentials
import FoundationEssentials
public import Logging
public import Registry

#if canImport(Glibc)
    import Glibc
#endif

/// `ocicred mount IMAGE DIR`: the image's merged tree, read-only over FUSE, its file bytes fetched span by span
/// from the registry as they are read. Credentials come through the client's credential source — the same
/// resolver and token cache the refresh sidecar keeps fresh — and are asked for again on every 401, so a mount
/// outlives any one token.
public struct ImageMount: Sendable {
    public struct Options: Sendable {
        /// The longest a read waits, retries included, before it fails with EIO.
        public var fetchTimeout: Duration = .seconds(30)
        public var allowOther = false
        /// Fetch every span of every layer in the background, at low priority, after mounting.
        public var prefetch = false
        public var maxThreads = 16
        public var span: Int64 = ImageIndexer.defaultSpan
        public var platform: Platform = .host
        /// Indexing progress when the mount has to build the index (ImageIndexer's callback).
        public var indexProgress: @Sendable (Int, Int, String, Int64, Int64) -> Void = { _, _, _, _, _ in }
        public init() {}
    }

    /// What a running mount reports once it is ready.
    public struct Mounted: Sendable {
        public var index: ImageIndex
        public var indexPath: String
    }

    public var client: RegistryClient
    public var reference: Reference
    public var environment: OcicredEnvironment
    public var options: Options
    public var logger: Logger

    public init(
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
    public var chunkDirectory: String { environment.cacheHome + "/ocicred/chunks" }

    /// Indexes the image (or takes the cached index), mounts it at `mountpoint`, calls `ready`, and serves until
    /// the filesystem is unmounted — by `ocicred unmount`, `umount`, or SIGTERM/SIGINT/SIGHUP.
    public func run(at mountpoint: String, ready: @Sendable (Mounted) -> Void) async throws(LazyMountError) {
        var info = stat()
        guard stat(mountpoint, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw .mount(mountpoint: mountpoint, reason: "not a directory")
        }
        var client = client
        client.timeout = min(client.timeout, options.fetchTimeout)
        client.connectTimeout = min(client.connectTimeout, options.fetchTimeout)
        let (index, indexPath) = try await index(client: client)

        let filesystem = LazyFilesystem(
            index: index, source: RegistryBlobSource(client: client, repository: reference.repository),
            cache: ChunkCache(directory: chunkDirectory), fetchTimeout: options.fetchTimeout, logger: logger)
        var mountOptions = ["ro", "default_permissions", "fsname=\(reference.description)", "subtype=ocicred"]
        if options.allowOther { mountOptions.append("allow_other") }
        let session = try FuseSession(mountpoint: mountpoint, options: mountOptions, filesystem: filesystem)
        let restoreSignals = MountSignals.unmountOnSignal(mountpoint)
        logger.info("mounted", metadata: ["image": "\(reference.description)", "mountpoint": "\(mountpoint)"])
        ready(Mounted(index: index, indexPath: indexPath))

        let prefetch = options.prefetch ? Task(priority: .background) { await Self.prefetchAll(filesystem) } : nil
        let status = await session.run(maxThreads: options.maxThreads)
        prefetch?.cancel()
        restoreSignals()
        // Replies still on their way need the session: wait for them (each is bounded by the fetch timeout).
        let drainUntil = ContinuousClock.now + options.fetchTimeout + .seconds(1)
        while filesystem.outstandingReads > 0 && ContinuousClock.now < drainUntil {
            try? await Task.sleep(for: .milliseconds(20))
        }
        session.close()
        logger.info("unmounted", metadata: ["mountpoint": "\(mountpoint)", "status": "\(status)"])
        if status < 0 {
            throw .mount(mountpoint: mountpoint, reason: "the FUSE loop failed: \(String(cString: strerror(-status)))")
        }
    }

    /// The index for the image: the cached one, else one pushed to the registry by `ocicred index --push`
    /// (found through the referrers API or its tag fallback), else built now by reading every layer once.
    func index(client: RegistryClient) async throws(LazyMountError) -> (ImageIndex, String) {
        let cache = IndexCache(environment: environment)
        let indexer = ImageIndexer(client: client, span: options.span, progress: options.indexProgress)
        let image: ResolvedImage
        do throws(RegistryError) {
            image = try await client.resolveImage(reference, platform: options.platform)
        } catch {
            throw .registry(error)
        }
        if let cached = cache.load(manifestDigest: image.manifestDigest, span: options.span) {
            logger.info("index from the cache", metadata: ["manifest": "\(image.manifestDigest)"])
            return (cached, cache.path(forManifest: image.manifestDigest))
        }
        do throws(LazyMountError) {
            if let pushed = try await IndexReferrer.fetch(
                client: client, repository: reference.repository, manifestDigest: image.manifestDigest,
                span: options.span)
            {
                logger.info("index from the registry (referrer)", metadata: ["manifest": "\(image.manifestDigest)"])
                return (pushed, try cache.store(pushed))
            }
        } catch {
            // A broken or altered artifact is not fatal: the layers themselves are verified while indexing.
            logger.warning("ignoring the index pushed to the registry", metadata: ["error": "\(error)"])
        }
        logger.info("building the index", metadata: ["manifest": "\(image.manifestDigest)"])
        let built = try await indexer.build(image)
        return (built, try cache.store(built))
    }

    /// Unmounts an ocicred mount at `mountpoint`; refuses anything else, so a typo cannot unmount /home.
    public static func unmount(_ mountpoint: String) throws(LazyMountError) {
        guard let type = mountType(mountpoint) else {
            throw .mount(mountpoint: mountpoint, reason: "nothing is mounted there")
        }
        guard type == "fuse.ocicred" else {
            throw .mount(mountpoint: mountpoint, reason: "that is a \(type) mount, not an ocicred mount")
        }
        try FuseSession.unmount(mountpoint)
    }

    /// The filesystem type mounted exactly at `path`, from /proc/self/mountinfo (field 5 is the mount point,
    /// the type follows the " - " separator).
    static func mountType(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        let target = String(cString: resolved)
        free(resolved)
        guard let bytes = try? IndexCache.readFile("/proc/self/mountinfo") else { return nil }
        var found: String?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let fields = halves[0].split(separator: " ")
            guard fields.count >= 5, unescapeMountinfo(String(fields[4])) == target else { continue }
            found = halves[1].split(separator: " ").first.map(String.init)  // the last mount on top wins
        }
        return found
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
    static func unescapeMountinfo(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One span at a time, lowest priority, stopping at the first cancellation; errors are left for readers.
    static func prefetchAll(_ filesystem: LazyFilesystem) async {
        for (layer, layerIndex) in filesystem.index.layers.enumerated() {
            for span in layerIndex.spans.indices {
                if Task.isCancelled { return }
                _ = try? await Deadline.race(filesystem.fetchTimeout, layer: layerIndex.digest) {
                    () async throws(LazyMountError) -> [UInt8] in
                    try await filesystem.spanBytes(layer: layer, span: span)
                }
            }
        }
    }
}

internal import ArgumentParser
internal import Credentials
internal import LazyMount
internal import Registry
internal import SystemSupport

/// `ocicred mount IMAGE DIR`: serve the image read-only over FUSE until unmounted (see ImageMount).
struct MountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount an image read-only over FUSE, fetching file contents from the registry on demand.",
        discussion: """
            Runs in the foreground until DIR is unmounted (`ocicred unmount DIR`, `umount DIR`) or the process \
            gets SIGTERM, SIGINT or SIGHUP, which unmount cleanly; prints "mounted" on stdout once DIR is \
            usable. The index is taken from $XDG_CACHE_HOME/ocicred/index, or built first. Verified spans are \
            kept under $XDG_CACHE_HOME/ocicred/chunks. Credentials are resolved as \
            `docker-credential-ocicred get` resolves them, and again after every 401, so a mount outlives \
            short-lived registry tokens refreshed by `ocicred refresh` or the token cache.

            With --bundle, DIR becomes an OCI runtime bundle for runc or crun: DIR/config.json from the image \
            config (as `umoci unpack` writes it; rootless when not run as root) and DIR/rootfs, a writable \
            overlay over the lazy mount at DIR/lower with its upper and work directories in DIR. Run it with \
            `runc run --bundle DIR ID`, or with podman: `ocicred podman-args DIR`. `ocicred unmount DIR` takes \
            it apart, and refuses while a container still uses it.

            --record-profile records which spans the container reads first (until unmount, or for \
            --record-seconds); the profile is kept beside the index and, with --push-profile, pushed to the \
            image's repository. A later mount of the image fetches those spans ahead of the container.

            A pushed index or profile (`ocicred index --push`, --push-profile) is read only when it is bound to \
            the image: signed in cosign's format by a key given with --index-key, pinned with --index DIGEST, \
            or trusted with --trust-pushed-index (whoever can push to the repository then decides what the \
            mount reads); the config's `mount.trust` rules say the same per repository or image. Otherwise the mount builds the index itself, reading each layer once against its \
            digest. Every index, from anywhere, is checked against the image manifest before use.
            """)

    @Argument(help: "The image reference, e.g. registry.example.com/team/app:1.0 or …@sha256:…")
    var image: String

    @Argument(help: "An empty directory to mount the image on.")
    var directory: String

    @Option(help: "The platform to pick from a multi-platform image, os/arch[/variant] (default: the host's).")
    var platform: String?

    @Option(help: "Seconds a read may take, retries included, before it fails with EIO.")
    var fetchTimeout: Int = 30

    @Flag(help: "Let other users read the mount (needs user_allow_other in /etc/fuse.conf unless root).")
    var allowOther = false

    @Flag(help: "Fetch every layer in the background at low priority after mounting.")
    var prefetch = false

    @Option(help: "Uncompressed bytes between gzip checkpoints, when the index has to be built.")
    var span: Int64 = ImageIndexer.defaultSpan

    @Flag(help: "Make DIR an OCI runtime bundle: config.json and a writable overlay at DIR/rootfs.")
    var bundle = false

    @Flag(help: "Keep DIR/upper, the container's writes, after unmounting (and reuse it on the next mount).")
    var keepUpper = false

    @Option(help: "A rootless bundle's uid map, CONTAINER:HOST:SIZE (repeatable; default: root is you).")
    var uidMap: [String] = []

    @Option(help: "A rootless bundle's gid map, CONTAINER:HOST:SIZE (repeatable; default: root is your group).")
    var gidMap: [String] = []

    @Flag(help: "Record which spans are read first, until unmount (or --record-seconds), as a start-up profile.")
    var recordProfile = false

    @Option(help: "Stop recording the start-up profile this many seconds after mounting.")
    var recordSeconds: Int?

    @Flag(help: "Push the recorded start-up profile to the image's repository as a referrer.")
    var pushProfile = false

    @Flag(help: "Do not fetch a start-up profile's spans ahead of readers.")
    var noProfile = false

    @Option(help: "Trust pushed indexes and profiles signed (cosign format) by this public key (PEM; repeatable).")
    var indexKey: [String] = []

    @Option(help: "Use the pushed index artifact with this digest, as `ocicred index --push` printed it.")
    var index: String?

    @Flag(help: "Trust the newest pushed index and profile: whoever can push to the repository decides what is read.")
    var trustPushedIndex = false

    @Option(help: "Sign the profile --push-profile pushes with this ECDSA P-256 private key (PEM, mode 0600).")
    var signKey: String?

    @OptionGroup var access: RegistryAccessOptions

    func validate() throws {
        guard fetchTimeout > 0 else { throw ValidationError("--fetch-timeout must be at least 1 second") }
        guard span >= 64 * 1024 else { throw ValidationError("--span must be at least 65536 bytes") }
        if !bundle && (keepUpper || !uidMap.isEmpty || !gidMap.isEmpty) {
            throw ValidationError("--keep-upper, --uid-map and --gid-map need --bundle")
        }
        for map in uidMap + gidMap where RuntimeSpec.IDMapping.parse(map) == nil {
            throw ValidationError("\(map) is not an id map: write CONTAINER:HOST:SIZE, e.g. 0:1000:1")
        }
        if let recordSeconds, recordSeconds <= 0 { throw ValidationError("--record-seconds must be at least 1") }
        if signKey != nil && !pushProfile { throw ValidationError("--sign-key signs what --push-profile pushes") }
        if pushProfile && !recordProfile && recordSeconds == nil {
            throw ValidationError("--push-profile needs --record-profile or --record-seconds")
        }
    }

    func run() async throws {
        let environment = OcicredEnvironment.current
        let logger = OcicredCommand.logger
        let reference = try ImageAccess.reference(image)
        do {
            var options = ImageMount.Options()
            options.platform = try platform.map(Platform.parse) ?? Platform.host
            options.fetchTimeout = .seconds(fetchTimeout)
            options.allowOther = allowOther
            options.prefetch = prefetch
            options.span = span
            if bundle {
                var bundleOptions = RuntimeBundle.Options()
                bundleOptions.keepUpper = keepUpper
                if ProcessIdentity.realUserID != 0 || !uidMap.isEmpty || !gidMap.isEmpty {
                    let own = RuntimeSpec.Rootless.callingUser(
                        uid: ProcessIdentity.realUserID, gid: ProcessIdentity.realGroupID)
                    bundleOptions.rootless = RuntimeSpec.Rootless(
                        uidMappings: uidMap.isEmpty ? own.uidMappings : uidMap.compactMap(RuntimeSpec.IDMapping.parse),
                        gidMappings: gidMap.isEmpty ? own.gidMappings : gidMap.compactMap(RuntimeSpec.IDMapping.parse))
                }
                options.bundle = bundleOptions
            }
            options.recordProfile = recordProfile || recordSeconds != nil
            options.recordFor = recordSeconds.map { .seconds($0) }
            options.pushProfile = pushProfile
            options.useProfile = !noProfile
            options.trust = try MountConfig.load(environment: environment).trust(
                for: reference, keyFiles: indexKey, pinnedIndex: index, pushed: trustPushedIndex)
            options.signKey = try signKey.map { path throws(LazyMountError) in try IndexTrust.signingKey(at: path) }
            if let progress = ImageAccess.progressLine(prefix: "indexing ") {
                let onTerminal = StandardStream.error.isTerminal
                options.indexProgress = { layer, count, digest, read, size in
                    progress(layer, count, digest, read, size)
                    if onTerminal && layer == count && read == size { StandardStreams.err("\n") }
                }
            }
            let client = try ImageAccess.client(
                for: reference, access: access, environment: environment, logger: logger)
            let mount = ImageMount(
                client: client, reference: reference, environment: environment, options: options, logger: logger)
            let directory = directory
            let bundle = bundle
            try await mount.run(at: directory) { mounted in
                StandardStreams.out(
                    "mounted \(reference.description) at \(directory) (\(mounted.index.tree.count) entries)"
                        + (bundle ? " as a runtime bundle: runc run --bundle \(directory) ID" : "") + "\n")
            }
        } catch {
            try ImageAccess.fail(error)
        }
    }
}

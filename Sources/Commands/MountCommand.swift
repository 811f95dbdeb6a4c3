import ArgumentParser
import Credentials
import LazyMount
import Registry
import SystemSupport

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

    @OptionGroup var access: RegistryAccessOptions

    func validate() throws {
        guard fetchTimeout > 0 else { throw ValidationError("--fetch-timeout must be at least 1 second") }
        guard span >= 64 * 1024 else { throw ValidationError("--span must be at least 65536 bytes") }
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
            if let progress = ImageAccess.progressLine(prefix: "indexing ") {
                options.indexProgress = { layer, count, digest, read, size in
                    progress(layer, count, digest, read, size)
                    if layer == count && read == size { StandardStreams.err("\n") }
                }
            }
            let client = try ImageAccess.client(
                for: reference, access: access, environment: environment, logger: logger)
            let mount = ImageMount(
                client: client, reference: reference, environment: environment, options: options, logger: logger)
            let directory = directory
            try await mount.run(at: directory) { mounted in
                StandardStreams.out(
                    "mounted \(reference.description) at \(directory) (\(mounted.index.tree.count) entries)\n")
            }
        } catch {
            try ImageAccess.fail(error)
        }
    }
}

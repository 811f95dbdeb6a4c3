internal import ArgumentParser
internal import Credentials
internal import LazyMount
internal import Registry
internal import SystemSupport

/// `ocicred index IMAGE`: read every layer once and write the index the lazy mount reads (format: ImageIndex).
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index an image's layers for lazy mounting (tar entries, gzip checkpoints, span digests).",
        discussion: """
            Credentials are resolved exactly as `docker-credential-ocicred get` resolves them. Each layer is \
            read once, with ranged requests; the index (JSON, version 4) is cached under \
            $XDG_CACHE_HOME/ocicred/index/<manifest digest> and its path printed. With -o it is also written \
            to FILE (- for stdout). With --push it is also stored in the image's repository as an OCI artifact \
            whose subject is the image manifest (the referrers tag sha256-<hex> is kept for registries without \
            the referrers API), where `ocicred mount` finds it; the artifact's reference is printed after the \
            path (on stderr with -o -).

            A mount reads a pushed index only when it is bound to the image: --sign-key KEY signs the artifact \
            in cosign's format (tag sha256-<hex>.sig, the same as `cosign sign --key`), and mounts given the \
            package key (--index-key) trust it; or pin the printed artifact digest (mount --index); or opt in \
            with mount --trust-pushed-index. The signature's reference is printed last.
            """)

    @Argument(help: "The image reference, e.g. registry.example.com/team/app:1.0 or …@sha256:…")
    var image: String

    @Option(name: .shortAndLong, help: "Also write the index to FILE (- for stdout).")
    var output: String?

    @Option(help: "The platform to pick from a multi-platform image, os/arch[/variant] (default: the host's).")
    var platform: String?

    @Option(help: "Uncompressed bytes between gzip checkpoints and per span digest.")
    var span: Int64 = ImageIndexer.defaultSpan

    @Flag(help: "Re-read the layers even when a cached index exists.")
    var refresh = false

    @Flag(help: "Push the index to the image's repository as an artifact referring to the image (needs push access).")
    var push = false

    @Option(
        help: "Sign the pushed index with this unencrypted ECDSA P-256 private key (PEM, mode 0600), as cosign does.")
    var signKey: String?

    @OptionGroup var access: RegistryAccessOptions

    func validate() throws {
        if signKey != nil && !push { throw ValidationError("--sign-key signs what --push pushes: add --push") }
    }

    func run() async throws {
        let environment = OcicredEnvironment.current
        let logger = OcicredCommand.logger
        let reference = try ImageAccess.reference(image)
        do {
            let platform = try platform.map(Platform.parse) ?? Platform.host
            let client = try ImageAccess.client(
                for: reference, access: access, environment: environment, logger: logger)
            let indexer = ImageIndexer(
                client: client, span: span, progress: ImageAccess.progressLine(prefix: "") ?? { _, _, _, _, _ in })
            let key = try signKey.map { path throws(LazyMountError) in try IndexTrust.signingKey(at: path) }
            // Refused push rights are found out before the layers are read, not after minutes of indexing.
            if push { _ = try await client.verify(repository: reference.repository, push: true) }
            let cache = IndexCache(environment: environment)
            let (index, path) = try await indexer.index(
                reference, platform: platform, cache: cache, refresh: refresh, inlineWindows: push)
            ImageAccess.clearProgressLine()
            for skipped in index.skippedEntries {
                StandardStreams.err("warning: skipped a layer entry whose name leaves the image's root: \(skipped)\n")
            }
            var pushed: [String] = []
            if push {
                let artifact = try await IndexReferrer.push(index, client: client, repository: reference.repository)
                pushed.append("\(reference.host)/\(reference.repository)@\(artifact.digest)")
                if !artifact.pushed { StandardStreams.err("the registry already holds this index\n") }
                if let key {
                    pushed.append(
                        try await IndexReferrer.sign(
                            artifact: artifact.digest, reference: reference, key: key, client: client))
                }
            }
            switch output {
            case "-"?: StandardStreams.out(String(decoding: try IndexCache.encode(index), as: UTF8.self) + "\n")
            case let file?: try IndexCache.write(index, to: file)
            case nil: break
            }
            if output != "-" { StandardStreams.out(path + "\n") }
            for line in pushed {
                if output == "-" { StandardStreams.err(line + "\n") } else { StandardStreams.out(line + "\n") }
            }
        } catch {
            try ImageAccess.fail(error)
        }
    }
}

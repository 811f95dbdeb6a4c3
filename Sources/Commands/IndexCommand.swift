import ArgumentParser
import Credentials
import LazyMount
import Registry
import Transport

#if canImport(Glibc)
    import Glibc
#endif

/// `ocicred index IMAGE`: read every layer once and write the index the lazy mount reads (format: ImageIndex).
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index an image's layers for lazy mounting (tar entries, gzip checkpoints, span digests).",
        discussion: """
            Credentials are resolved exactly as `docker-credential-ocicred get` resolves them. Each layer is \
            read once, with ranged requests; the index (JSON, version 2) is cached under \
            $XDG_CACHE_HOME/ocicred/index/<manifest digest> and its path printed. With -o it is also written \
            to FILE (- for stdout). With --push it is also stored in the image's repository as an OCI artifact \
            whose subject is the image manifest (the referrers tag sha256-<hex> is kept for registries without \
            the referrers API), where `ocicred mount` finds it; the artifact's reference is printed after the \
            path (on stderr with -o -).
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

    @OptionGroup var access: RegistryAccessOptions

    func run() async throws {
        let environment = OcicredEnvironment.current
        let logger = OcicredCommand.logger
        let reference: Reference
        do {
            reference = try Reference.parse(image)
        } catch {
            throw ValidationError("\(image) is not an image reference: \(error)")
        }
        do {
            let platform = try platform.map(Platform.parse) ?? Platform.host
            let key = CredentialKey.forImage(reference)
            let endpoint = try access.endpoint(for: key, repository: reference.repository, environment: environment)
            let client = RegistryClient(
                endpoint: endpoint, http: CurlHTTPClient(configuration: .fromEnvironment(environment.values)),
                credentials: RegistryLogin.credentialSource(
                    resolver: Resolution.resolver(environment: environment, logger: logger), key: key),
                logger: logger)
            let showProgress = isatty(2) == 1
            let indexer = ImageIndexer(client: client, span: span) { layer, count, digest, read, size in
                guard showProgress else { return }
                let mib = { (bytes: Int64) in String(Double(bytes * 10 / (1 << 20)) / 10) }
                StandardStreams.err(
                    "\rlayer \(layer)/\(count) \(digest.prefix(19)) \(mib(read))/\(mib(size)) MiB\u{1B}[K")
            }
            // Refused push rights are found out before the layers are read, not after minutes of indexing.
            if push { _ = try await client.verify(repository: reference.repository, push: true) }
            let cache = IndexCache(environment: environment)
            let (index, path) = try await indexer.index(reference, platform: platform, cache: cache, refresh: refresh)
            if showProgress { StandardStreams.err("\r\u{1B}[K") }
            var pushed: String?
            if push {
                let artifact = try await IndexReferrer.push(index, client: client, repository: reference.repository)
                pushed = "\(reference.host)/\(reference.repository)@\(artifact.digest)"
                if !artifact.pushed { StandardStreams.err("the registry already holds this index\n") }
            }
            switch output {
            case "-"?: StandardStreams.out(String(decoding: try IndexCache.encode(index), as: UTF8.self) + "\n")
            case let file?: try IndexCache.write(index, to: file)
            case nil: break
            }
            if output != "-" { StandardStreams.out(path + "\n") }
            if let pushed {
                if output == "-" { StandardStreams.err(pushed + "\n") } else { StandardStreams.out(pushed + "\n") }
            }
        } catch let error as LazyMountError {
            StandardStreams.err("error: \(error.description)\n")
            if case .registry(let registryError) = error { throw ExitCode(registryError.kind.rawValue) }
            throw ExitCode(1)
        } catch let error as RegistryError {
            StandardStreams.err("error: \(error.description)\n")
            throw ExitCode(error.kind.rawValue)
        }
    }
}

package import Credentials
internal import FoundationEssentials
package import Registry

/// `ocicred index`'s entry point: resolve the image, index every layer once, merge the tree.
package struct ImageIndexer: Sendable {
    /// 256 KiB of uncompressed output between checkpoints: a read inflates at most this much. Windows are
    /// fetched per span (`IndexReferrer`), so a smaller span does not make the index fetched before the first
    /// byte much bigger, only the windows blob stored beside it (about 12 KB per span). Starting node and python3
    /// in a container (helpers/bench-run, 3 MB/s) downloaded 66 of 130 MB with 4 MiB spans, 37 with 1 MiB and
    /// 27.2 with 256 KiB (9.6 s); 25.4 with 128 KiB (8.9 s) and 24.2 with 64 KiB (8.8 s), with the windows
    /// stored beside the pushed index growing from 10 % of the image to 17 % and 26 %. What holds the default
    /// here is the index built locally (not pushed), which keeps each 32 KiB window inline: about 0.36 of the
    /// image's uncompressed size at 256 KiB, read whole at every mount start. `--span` chooses.
    package static let defaultSpan: Int64 = 256 << 10

    let client: RegistryClient
    package var span: Int64
    /// Called with (layer number from 1, layer count, layer digest, compressed bytes read, compressed size).
    package var progress: @Sendable (Int, Int, String, Int64, Int64) -> Void

    package init(
        client: RegistryClient, span: Int64 = ImageIndexer.defaultSpan,
        progress: @escaping @Sendable (Int, Int, String, Int64, Int64) -> Void = { _, _, _, _, _ in }
    ) {
        self.client = client
        self.span = span
        self.progress = progress
    }

    /// The index of `reference` for `platform`: from `cache` when it holds one for the resolved manifest (and
    /// `refresh` is off), else built and stored there. Returns the index and its cache path. `inlineWindows`
    /// (for a push) passes over a cached index whose windows stayed in the registry it came from.
    package func index(
        _ reference: Reference, platform: Platform, cache: IndexCache, refresh: Bool = false,
        inlineWindows: Bool = false
    ) async throws(LazyMountError) -> (ImageIndex, String) {
        guard span >= 64 * 1024 else { throw .outOfRange("--span must be at least 65536 bytes") }
        let image: ResolvedImage
        do throws(RegistryError) {
            image = try await client.resolveImage(reference, platform: platform)
        } catch {
            throw .registry(error)
        }
        let cachePath = cache.path(forManifest: image.manifestDigest)
        if !refresh, let cached = cache.load(manifestDigest: image.manifestDigest, span: span),
            !(inlineWindows && cached.hasExternalWindows),
            (try? cached.check(against: image, source: cachePath)) != nil
        {
            return (cached, cachePath)
        }
        let index = try await build(image)
        try index.check(against: image, source: "the index built from \(reference.description)")
        return (index, try cache.store(index))
    }

    func build(_ image: ResolvedImage) async throws(LazyMountError) -> ImageIndex {
        let reference = image.reference
        let source = RegistryBlobSource(client: client, repository: reference.repository)
        var layers: [LayerIndex] = []
        var entries: [[TarEntry]] = []
        let count = image.manifest.layers.count
        for (number, descriptor) in image.manifest.layers.enumerated() {
            let progress = self.progress
            let indexer = LayerIndexer(span: span) { read in
                progress(number + 1, count, descriptor.digest, read, descriptor.size)
            }
            let indexed = try await indexer.index(descriptor, from: source)
            layers.append(indexed.index)
            entries.append(indexed.entries)
        }
        return ImageIndex(
            version: ImageIndex.currentVersion, reference: reference.description,
            manifestDigest: image.manifestDigest, configDigest: image.manifest.config.digest,
            platform: image.platform.description, span: span, layers: layers,
            tree: LayerMerge.merge(entries))
    }
}

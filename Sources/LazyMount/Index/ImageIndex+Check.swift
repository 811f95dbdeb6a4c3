internal import FoundationEssentials
internal import Registry

/// An index is a second source of truth beside the manifest, and it can come from someone else (a referrer anyone
/// with push access wrote, a cache file, an older version): before a path, URL or cache name is built from it, it
/// must describe exactly the layers the manifest pins and nothing outside them. The layer bytes themselves are
/// then checked span by span against the digests in the index, so what a mount serves is what the image pins.
extension ImageIndex {
    /// Bounds no index of a real image comes near (the index of a 10 GiB image holds tens of thousands of spans
    /// and a few hundred thousand entries); past them an index is hostile or broken, not large.
    enum Limits {
        static let layers = 1_000
        static let spansPerLayer = 4_000_000
        static let treeEntries = 10_000_000
        static let skippedEntries = 100_000
        static let spanBytes: Int64 = 256 << 20
        static let layerBytes: Int64 = 1 << 40
        static let windowBytes = 32 << 10
        /// A raw-deflated 32 KiB window is at most a few bytes larger than the window (stored blocks).
        static let storedWindowBytes: Int64 = 64 << 10
        static let pathBytes = 4096
        static let xattrs = 1_000
    }

    /// Throws, naming the first thing wrong, unless this index describes `image`'s manifest: the same manifest
    /// and config, and each layer, in order, the manifest's layer (a well-formed digest, the same size and media
    /// type) with spans that tile its uncompressed bytes, checkpoints and windows inside it, and a tree whose
    /// entries name only clean paths and bytes of their own layer.
    func check(against image: ResolvedImage, source: String) throws(LazyMountError) {
        func refuse(_ reason: String) -> LazyMountError { .index(path: source, reason: "refused: " + reason) }
        guard version == ImageIndex.currentVersion else {
            throw refuse("version \(version), expected \(ImageIndex.currentVersion)")
        }
        guard manifestDigest == image.manifestDigest else {
            throw refuse("it was made for manifest \(Self.quoted(manifestDigest)), not \(image.manifestDigest)")
        }
        guard configDigest == image.manifest.config.digest else {
            throw refuse("its config \(Self.quoted(configDigest)) is not the image's \(image.manifest.config.digest)")
        }
        guard span >= 64 << 10, span <= Limits.spanBytes else { throw refuse("span \(span) is out of range") }
        let pinned = image.manifest.layers
        guard pinned.count <= Limits.layers, layers.count == pinned.count else {
            throw refuse("it lists \(layers.count) layers, the manifest \(pinned.count)")
        }
        for (number, layer) in layers.enumerated() {
            do throws(LazyMountError) {
                try layer.check(against: pinned[number])
            } catch {
                throw refuse("layer \(number): \(error.reason)")
            }
        }
        guard skippedEntries.count <= Limits.skippedEntries else { throw refuse("too many skipped entries") }
        try checkTree(refuse)
    }

    private func checkTree(_ refuse: (String) -> LazyMountError) throws(LazyMountError) {
        guard tree.count <= Limits.treeEntries else { throw refuse("its tree holds \(tree.count) entries") }
        var previous: String?
        for merged in tree {
            let entry = merged.entry
            guard layers.indices.contains(merged.layer) else {
                throw refuse("entry \(Self.quoted(entry.path)) names layer \(merged.layer)")
            }
            guard entry.path.utf8.count <= Limits.pathBytes, !entry.path.isEmpty,
                TarEntry.normalize(entry.path) == entry.path
            else { throw refuse("entry \(Self.quoted(entry.path)) is not a clean path inside the image") }
            if let previous, previous >= entry.path {
                throw refuse("its tree is not sorted by path at \(Self.quoted(entry.path))")
            }
            previous = entry.path
            let layerSize = layers[merged.layer].uncompressedSize
            guard entry.size >= 0, entry.offset >= 0, entry.offset <= layerSize,
                entry.size <= layerSize - entry.offset
            else {
                throw refuse("entry \(Self.quoted(entry.path)) points outside its layer's \(layerSize) bytes")
            }
            guard entry.kind == .file || entry.size == 0 else {
                throw refuse("entry \(Self.quoted(entry.path)) is a \(entry.kind) with data")
            }
            if entry.kind == .hardlink {
                guard let target = entry.linkName, TarEntry.normalize(target) == target, !target.isEmpty else {
                    throw refuse("hard link \(Self.quoted(entry.path)) points outside the image")
                }
            }
            guard (entry.xattrs?.count ?? 0) <= Limits.xattrs else {
                throw refuse("entry \(Self.quoted(entry.path)) has too many xattrs")
            }
        }
    }

    /// Text from an index as it may appear in a message: quoted, cut short, control characters shown as `?`, so
    /// a hostile index cannot write escape sequences to the terminal through an error.
    static func quoted(_ text: String) -> String {
        let cleaned = String(
            text.prefix(120).unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
        return "\"" + cleaned + (text.count > 120 ? "…" : "") + "\""
    }
}

extension LayerIndex {
    /// This layer is `pinned` (the manifest's descriptor at its position) and its spans tile exactly its
    /// uncompressed bytes.
    func check(against pinned: Descriptor) throws(LazyMountError) {
        guard Self.isDigest(digest) else {
            throw .outOfRange("its digest \(ImageIndex.quoted(digest)) is not sha256:<64 hex>")
        }
        guard Self.isDigest(pinned.digest) else {
            throw .outOfRange("the manifest's digest \(ImageIndex.quoted(pinned.digest)) is not sha256:<64 hex>")
        }
        guard digest == pinned.digest else { throw .outOfRange("it is \(digest), the manifest's is \(pinned.digest)") }
        guard compressedSize == pinned.size, compressedSize >= 0 else {
            throw .outOfRange("it says \(compressedSize) bytes, the manifest \(pinned.size)")
        }
        guard mediaType == pinned.mediaType, (try? MediaType.compression(ofLayer: mediaType)) == compression else {
            throw .outOfRange("its media type or compression is not the manifest's \(pinned.mediaType)")
        }
        guard fetchWholeOnFirstRead == (compression == .zstd) else {
            throw .outOfRange("fetchWholeOnFirstRead does not fit its compression")
        }
        guard uncompressedSize >= 0, uncompressedSize <= ImageIndex.Limits.layerBytes else {
            throw .outOfRange("uncompressed size \(uncompressedSize) is out of range")
        }
        if let windowsBlob, !Self.isDigest(windowsBlob) {
            throw .outOfRange("its windows blob \(ImageIndex.quoted(windowsBlob)) is not sha256:<64 hex>")
        }
        guard (skippedEntries?.count ?? 0) <= ImageIndex.Limits.skippedEntries,
            spans.count <= ImageIndex.Limits.spansPerLayer
        else { throw .outOfRange("it lists too many spans or skipped entries") }
        try checkSpans()
    }

    private func checkSpans() throws(LazyMountError) {
        var end: Int64 = 0
        var lastCompressed: Int64 = -1
        for (number, span) in spans.enumerated() {
            // An empty layer has one empty span; no other span is empty.
            let emptyLayer = uncompressedSize == 0 && spans.count == 1
            guard span.uncompressedOffset == end, span.length > 0 || emptyLayer,
                span.length <= ImageIndex.Limits.spanBytes, span.length <= uncompressedSize - end
            else { throw .outOfRange("span \(number) does not follow the one before inside the layer") }
            end += span.length
            guard span.sha256.utf8.count == 64, span.sha256.utf8.allSatisfy(Self.isLowerHex) else {
                throw .outOfRange("span \(number) has no sha256 of 64 lower-case hex digits")
            }
            guard let checkpoint = span.checkpoint else {
                if compression == .gzip && !emptyLayer {
                    throw .outOfRange("span \(number) of a gzip layer has no checkpoint")
                }
                continue
            }
            guard compression == .gzip else { throw .outOfRange("span \(number) has a checkpoint outside gzip") }
            guard checkpoint.compressedOffset > lastCompressed, checkpoint.compressedOffset < compressedSize,
                (0...7).contains(checkpoint.bits)
            else { throw .outOfRange("span \(number)'s checkpoint lies outside the layer") }
            lastCompressed = checkpoint.compressedOffset
            if let window = checkpoint.window, window.count > ImageIndex.Limits.windowBytes {
                throw .outOfRange("span \(number)'s window is \(window.count) bytes")
            }
            if let location = checkpoint.windowAt {
                guard windowsBlob != nil, location.offset >= 0, location.length > 0,
                    location.length <= ImageIndex.Limits.storedWindowBytes
                else { throw .outOfRange("span \(number)'s window lies outside a windows blob") }
            }
        }
        guard end == uncompressedSize else {
            throw .outOfRange("its spans end at \(end), the layer at \(uncompressedSize)")
        }
    }

    /// `sha256:` and 64 lower-case hex digits: the only digests a layer, a cache name or a blob URL is built from.
    static func isDigest(_ text: String) -> Bool {
        let hex = text.utf8.dropFirst(7)
        return text.hasPrefix("sha256:") && hex.count == 64 && hex.allSatisfy(isLowerHex)
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

extension LazyMountError {
    /// The text a nested check gives, without its own prefix.
    fileprivate var reason: String {
        if case .outOfRange(let reason) = self { return reason }
        return description
    }
}

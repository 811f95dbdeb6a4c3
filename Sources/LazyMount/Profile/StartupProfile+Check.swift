/// A profile only changes when spans are fetched, never what is read; still, a pushed one comes from whoever can
/// push to the repository, so it is held to the index it goes with before any of it is used: the same image and
/// span size, only spans that index has (each at most once), and only clean image paths in its file list.
extension StartupProfile {
    func check(against index: ImageIndex, source: String) throws(LazyMountError) {
        func refuse(_ reason: String) -> LazyMountError { .profile(reason: "\(source) refused: \(reason)") }
        guard version == Self.currentVersion else { throw refuse("version \(version)") }
        guard fits(index) else {
            throw refuse("it was recorded for \(ImageIndex.quoted(manifestDigest)) with span \(span), not this image")
        }
        let spanCounts = Dictionary(
            index.layers.map { ($0.digest, $0.spans.count) }, uniquingKeysWith: { first, _ in first })
        guard spans.count <= spanCounts.values.reduce(0, +) else { throw refuse("it lists \(spans.count) spans") }
        var seen = Set<Span>()
        for entry in spans {
            guard let count = spanCounts[entry.layer], (0..<count).contains(entry.span) else {
                throw refuse("span \(entry.span) of layer \(ImageIndex.quoted(entry.layer)) is not in the image")
            }
            guard seen.insert(entry).inserted else { throw refuse("span \(entry.span) is listed twice") }
        }
        guard files.count <= index.tree.count else { throw refuse("it lists \(files.count) files") }
        for file in files where file.isEmpty || TarEntry.normalize(file) != file {
            throw refuse("file \(ImageIndex.quoted(file)) is not a clean path inside the image")
        }
    }
}

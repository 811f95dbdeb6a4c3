package import Crypto
internal import Registry

/// Which pushed indexes and start-up profiles a mount may read. A layer's bytes are trusted because the manifest
/// digest pins the layer digest; a pushed index is a second source of truth (its span digests decide which bytes
/// are served), written by anyone who can push to the repository. So it is read only when something that party
/// cannot forge binds it to the image: a cosign signature by a key the operator configured, an artifact digest the
/// operator pinned, or the operator's explicit word that whoever can push to this repository decides what the mount
/// reads. Without any of these the mount builds the index itself, reading each layer against its digest.
package struct IndexTrust: Sendable {
    /// Public keys whose cosign signature of an index or profile artifact makes it trusted.
    package var keys: [ECDSAKey] = []
    /// The digest of the one index artifact to use (as `ocicred index --push` prints it).
    package var pinnedIndex: String?
    /// Trust whatever the repository's newest artifact says.
    package var pushed = false

    package init(keys: [ECDSAKey] = [], pinnedIndex: String? = nil, pushed: Bool = false) {
        self.keys = keys
        self.pinnedIndex = pinnedIndex
        self.pushed = pushed
    }

    /// Whether anything pushed may be read at all.
    var allowsPushed: Bool { !keys.isEmpty || pinnedIndex != nil || pushed }

    /// How a listed artifact was bound to the image, or nil when it is not: pinned by digest (only for indexes),
    /// opted in, or signed (the signature is fetched and verified only when nothing cheaper binds it).
    func binding(of artifact: String, isIndex: Bool, repository: String, client: RegistryClient)
        async throws(RegistryError) -> String?
    {
        if isIndex, let pinnedIndex { return artifact == pinnedIndex ? "pinned by digest" : nil }
        if pushed { return "trusted as pushed (--trust-pushed-index)" }
        if try await CosignSignature.isSigned(digest: artifact, repository: repository, keys: keys, client: client) {
            return "signed by a configured key"
        }
        return nil
    }

    /// The one line a mount says when it reads nothing pushed.
    static func buildingNote(repository: String) -> String {
        "no pushed index is trusted for \(repository) (pass --index-key, --index or --trust-pushed-index): "
            + "building the index from the layers, each checked against its digest"
    }
}

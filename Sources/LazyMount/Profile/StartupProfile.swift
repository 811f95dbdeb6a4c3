internal import FoundationEssentials

/// What a container read while it started: the spans, in the order it first needed them, and the files, for
/// people. A later mount of the same image fetches these spans in the background, in this order, so they are
/// there before the container asks. It never changes what is read, only when: every span is verified against
/// the index as any other, and one the container never needs again costs only its download.
///
/// Tied to one image manifest and one span size, like the index it goes with.
package struct StartupProfile: Codable, Sendable, Equatable {
    package struct Span: Codable, Sendable, Equatable, Hashable {
        /// The layer's digest (not its position: the same layer may sit elsewhere in another image).
        package var layer: String
        package var span: Int
    }

    package static let currentVersion = 1

    package var version: Int
    package var manifestDigest: String
    package var span: Int64
    package var spans: [Span]
    /// Paths of the files read, in the order of their first read.
    package var files: [String]

    package init(manifestDigest: String, span: Int64, spans: [Span], files: [String]) {
        version = Self.currentVersion
        self.manifestDigest = manifestDigest
        self.span = span
        self.spans = spans
        self.files = files
    }

    /// Sorted keys, so the same profile is the same bytes (and the same digest when pushed).
    package func encoded() throws(LazyMountError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(self)) } catch { throw .profile(reason: "\(error)") }
    }

    package static func decode(_ bytes: [UInt8], what: String) throws(LazyMountError) -> StartupProfile {
        let profile: StartupProfile
        do {
            profile = try JSONDecoder().decode(StartupProfile.self, from: Data(bytes))
        } catch {
            throw .profile(reason: "\(what) is not an ocicred start-up profile: \(error)")
        }
        guard profile.version == currentVersion else {
            throw .profile(reason: "\(what) has version \(profile.version), expected \(currentVersion)")
        }
        return profile
    }

    /// Whether this profile was recorded for `index`'s image and span size.
    func fits(_ index: ImageIndex) -> Bool { manifestDigest == index.manifestDigest && span == index.span }
}

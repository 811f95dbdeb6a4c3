internal import Registry

/// Layer bytes from a registry repository, over ranged GETs (Registry's `fetchBlobRange` and `fetchBlobRanges`,
/// which check that the registry answered exactly the ranges asked for; the latter asks for several in one request
/// where the registry allows it).
struct RegistryBlobSource: BlobSource {
    var client: RegistryClient
    var repository: String

    func read(_ digest: String, range: Range<Int64>) async throws(LazyMountError) -> [UInt8] {
        do throws(RegistryError) {
            return try await client.fetchBlobRange(repository: repository, digest: digest, range: range)
        } catch {
            throw .registry(error)
        }
    }

    func read(_ digest: String, ranges: [Range<Int64>]) async throws(LazyMountError) -> [[UInt8]] {
        do throws(RegistryError) {
            return try await client.fetchBlobRanges(repository: repository, digest: digest, ranges: ranges)
        } catch {
            throw .registry(error)
        }
    }
}

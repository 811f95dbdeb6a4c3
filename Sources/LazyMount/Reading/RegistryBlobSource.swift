import Registry

/// Layer bytes from a registry repository, over ranged GETs (Registry's `fetchBlobRange`, which checks that the
/// registry answered exactly the range asked for).
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
}

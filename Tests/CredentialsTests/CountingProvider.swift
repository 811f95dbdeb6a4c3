import Credentials
import Foundation
import Synchronization

/// A stand-in provider for testing the resolver's ORDER and the cache's bookkeeping — not a provider under
/// test (the real AWS/GCP/Azure providers are tested against moto and strict fixtures in ProvidersTests).
final class CountingProvider: CredentialProvider, @unchecked Sendable {
    let name: String
    let lifetime: TimeInterval
    let failure: ProviderError?
    let delay: UInt64
    private let mints = Mutex(0)

    init(name: String, lifetime: TimeInterval = 3600, failure: ProviderError? = nil, delayNanoseconds: UInt64 = 0) {
        self.name = name
        self.lifetime = lifetime
        self.failure = failure
        delay = delayNanoseconds
    }

    var mintCount: Int { mints.withLock { $0 } }

    let mintingEnvironment = ["FAKE_ENDPOINT"]
    func cacheIdentity(for request: MintRequest) -> String {
        request.identity.awsProfile ?? request.material.map { "material:\($0.type.rawValue)" } ?? "ambient"
    }

    func mint(_ request: MintRequest) async throws(ProviderError) -> MintedToken {
        let count = mints.withLock { value in
            value += 1
            return value
        }
        if delay > 0 { try? await Task.sleep(nanoseconds: delay) }
        if let failure { throw failure }
        return MintedToken(
            username: "\(name)-user", secret: Secret("\(name)-token-\(count)"),
            expiresAt: Date().addingTimeInterval(lifetime))
    }
}

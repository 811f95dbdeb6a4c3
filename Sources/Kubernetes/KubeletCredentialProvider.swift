package import Credentials
package import FoundationEssentials

/// `ocicred kubelet`'s logic: request bytes in, response bytes out, resolving the image's registry exactly as
/// the credential helper's `get` does. Values in, values out, with the clock injected, so the whole exchange
/// is tested without a kubelet.
package struct KubeletCredentialProvider: Sendable {
    let resolver: Resolver
    let config: KubeletConfig
    let now: @Sendable () -> Date

    package init(
        resolver: Resolver, config: KubeletConfig = KubeletConfig(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.resolver = resolver
        self.config = config
        self.now = now
    }

    package enum Failure: Error, Equatable, CustomStringConvertible {
        case request(CredentialProviderRequest.ParseError)
        case image(String, ReferenceError)
        case credentials(image: String, CredentialError)

        package var description: String {
            switch self {
            case .request(let error): return "invalid CredentialProviderRequest: \(error.description)"
            case .image(let image, let error): return "cannot parse image \"\(image)\": \(error.description)"
            case .credentials(let image, let error): return "no credentials for \(image): \(error.description)"
            }
        }
    }

    package func respond(to input: [UInt8]) async throws(Failure) -> [UInt8] {
        let request: CredentialProviderRequest
        do {
            request = try CredentialProviderRequest.parse(input)
        } catch {
            throw .request(error)
        }
        return try await respond(to: request).encoded()
    }

    package func respond(to request: CredentialProviderRequest) async throws(Failure) -> CredentialProviderResponse {
        let reference: Reference
        do {
            reference = try Reference.parse(request.image)
        } catch {
            throw .image(request.image, error)
        }
        let key = CredentialKey(reference: reference)
        let credential: Credential
        do throws(CredentialError) {
            if let token = request.serviceAccountToken {
                credential = try await resolver.resolve(
                    key, serviceAccountToken: token, serviceAccountAnnotations: request.serviceAccountAnnotations)
            } else {
                credential = try await resolver.resolve(key)
            }
        } catch .notFound where Self.servesAnonymousPulls(reference.host) {
            // No identity on this node for a registry with public images (distroless on gcr.io, mcr mirrors on
            // ACR, public.ecr.aws): an empty answer lets the kubelet pull anonymously instead of logging an
            // error for every pull.
            return CredentialProviderResponse(
                cacheKeyType: .registry, cacheDurationSeconds: Int(config.cacheDuration), auth: [:])
        } catch {
            throw .credentials(image: request.image, error)
        }
        // Registry: one answer serves every image of the host, which is what a registry token is good for.
        return CredentialProviderResponse(
            cacheKeyType: .registry,
            cacheDurationSeconds: credential.expiresAt == nil
                ? Int(config.cacheDuration)
                : CredentialProviderResponse.cacheDuration(expiresAt: credential.expiresAt, now: now()),
            auth: [reference.host: .init(username: credential.username, password: credential.secret)])
    }

    /// The provider-minted registries the shipped `matchImages` cover that also host public images.
    static func servesAnonymousPulls(_ host: String) -> Bool {
        switch HostKind.classify(host: host) {
        case .gcr, .artifactRegistry, .acr, .ecrPublic: return true
        default: return false
        }
    }
}

package import Crypto
internal import FoundationEssentials

/// cosign's key-based signatures as stored in a registry (sigstore "Signature Specification" and its storage
/// convention): the signatures of manifest `sha256:<hex>` live in the same repository under the tag
/// `sha256-<hex>.sig`, an image manifest whose layers are simple-signing payloads
/// (`application/vnd.dev.cosign.simplesigning.v1+json`) each carrying its base64 DER ECDSA P-256 signature in the
/// `dev.cosignproject.cosign/signature` annotation. Using cosign's format means an operator can sign with the tool
/// they already use (`cosign sign --key`) and check ours with `cosign verify --key`.
package enum CosignSignature {
    package static let payloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
    package static let signatureAnnotation = "dev.cosignproject.cosign/signature"
    package static let signatureType = "cosign container image signature"
    /// A payload names one digest and one repository: far below this.
    static let maxPayloadBytes: Int64 = 64 << 10
    /// Signatures looked at for one digest; more is not a signature set but an attempt to make verifying slow.
    static let maxSignatures = 32

    /// The tag holding the signatures of `digest`.
    package static func tag(for digest: String) -> String {
        digest.replacingOccurrences(of: ":", with: "-") + ".sig"
    }

    /// The simple-signing payload for `digest` of `dockerReference` (`host/repository`), as cosign writes it.
    package static func payload(digest: String, dockerReference: String) -> [UInt8] {
        let text =
            #"{"critical":{"identity":{"docker-reference":"# + jsonString(dockerReference)
            + #"},"image":{"docker-manifest-digest":"# + jsonString(digest)
            + #"},"type":"# + jsonString(signatureType) + #"},"optional":null}"#
        return Array(text.utf8)
    }

    private static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Signs `digest` with `key` and adds the signature to the repository's signature manifest for it (keeping
    /// the signatures already there, as cosign does). Returns the tag written.
    package static func sign(
        digest: String, repository: String, dockerReference: String, key: ECDSAKey, client: RegistryClient
    ) async throws(RegistryError) -> String {
        guard Digest.isWellFormed(digest) else { throw .unsupportedDigest(digest) }
        let payload = payload(digest: digest, dockerReference: dockerReference)
        let signature: [UInt8]
        do { signature = try key.sign(payload) } catch {
            throw .invalidArgument("cannot sign with the key: \(error)")
        }
        let tag = tag(for: digest)
        var layers: [Descriptor] = []
        do {
            let existing = try await client.fetchManifest(repository: repository, reference: tag)
            layers = (try? JSONDecoder().decode(ImageManifest.self, from: Data(existing.body)))?.layers ?? []
        } catch {
            guard case .manifestNotFound = error else { throw error }
        }
        let layer = Descriptor(
            mediaType: payloadMediaType, digest: Digest.sha256(payload), size: Int64(payload.count),
            annotations: [signatureAnnotation: Base64.encode(signature)])
        layers.append(layer)
        let config = Array(
            (#"{"architecture":"","config":{},"created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","#
                + #""diff_ids":[""# + layers.map(\.digest).joined(separator: #"",""#) + #""]}}"#).utf8)
        let configDescriptor = Descriptor(
            mediaType: "application/vnd.oci.image.config.v1+json", digest: Digest.sha256(config),
            size: Int64(config.count))
        let manifest = ImageManifest(
            schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDescriptor, layers: layers)
        try await client.pushBlob(payload, digest: layer.digest, repository: repository)
        try await client.pushBlob(config, digest: configDescriptor.digest, repository: repository)
        let body = try RegistryClient.canonicalJSON(manifest)
        _ = try await client.pushManifest(
            body, mediaType: MediaType.ociManifest, digest: Digest.sha256(body), repository: repository, reference: tag)
        return tag
    }

    /// Whether the repository holds a signature of `digest` by one of `keys`: a payload of cosign's type naming
    /// exactly `digest`, whose annotation verifies against the payload's bytes. Anything else in the signature
    /// manifest (other keys' signatures, keyless ones, garbage) is passed over, never an error: only a signature
    /// that verifies counts, and none is "not signed".
    package static func isSigned(digest: String, repository: String, keys: [ECDSAKey], client: RegistryClient)
        async throws(RegistryError) -> Bool
    {
        guard Digest.isWellFormed(digest), !keys.isEmpty else { return false }
        let fetched: RegistryClient.FetchedManifest
        do {
            fetched = try await client.fetchManifest(repository: repository, reference: tag(for: digest))
        } catch {
            if case .manifestNotFound = error { return false }
            throw error
        }
        guard let manifest = try? JSONDecoder().decode(ImageManifest.self, from: Data(fetched.body)) else {
            return false
        }
        for layer in manifest.layers.prefix(maxSignatures)
        where layer.mediaType == payloadMediaType && layer.size > 0 && layer.size <= maxPayloadBytes {
            guard let encoded = layer.annotations?[signatureAnnotation], let signature = Base64.decode(encoded),
                Digest.isWellFormed(layer.digest)
            else { continue }
            let payload = try await client.fetchBlob(repository: repository, layer)
            guard names(digest, payload), keys.contains(where: { $0.verify(signature, of: payload) }) else {
                continue
            }
            return true
        }
        return false
    }

    /// Whether `payload` is a cosign simple-signing payload about exactly `digest`.
    static func names(_ digest: String, _ payload: [UInt8]) -> Bool {
        struct Payload: Decodable {
            struct Critical: Decodable {
                struct Image: Decodable {
                    var digest: String
                    enum CodingKeys: String, CodingKey { case digest = "docker-manifest-digest" }
                }
                var image: Image
                var type: String
            }
            var critical: Critical
        }
        guard let decoded = try? JSONDecoder().decode(Payload.self, from: Data(payload)) else { return false }
        return decoded.critical.type == signatureType && decoded.critical.image.digest == digest
    }
}

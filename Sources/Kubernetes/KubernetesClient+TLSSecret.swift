package import Credentials
internal import Crypto
internal import SystemSupport

/// Secrets of type `kubernetes.io/tls` plus `ca.crt` (the shape cert-manager writes): where the admission webhook
/// keeps its serving certificate, so every replica and every restart serves the one the `caBundle` names.
extension KubernetesClient {
    package static let tlsSecretType = "kubernetes.io/tls"
    static let previousCAKey = "ca-previous.crt"

    /// A TLS Secret's PEM contents and the resourceVersion a replacement must name. The key redacts itself.
    package struct TLSSecret: Sendable, Equatable {
        package var certificate: [UInt8]
        package var privateKey: Credentials.Secret
        package var certificateAuthority: [UInt8]
        /// `ca-previous.crt`: the CA before the last rotation, still trusted (beside `ca.crt`) while replicas that
        /// have not reloaded yet serve certificates it signed. Empty when there is none.
        package var previousCertificateAuthority: [UInt8] = []
        package var resourceVersion: String?

        package init(
            certificate: [UInt8], privateKey: Credentials.Secret, certificateAuthority: [UInt8],
            resourceVersion: String? = nil
        ) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.certificateAuthority = certificateAuthority
            self.resourceVersion = resourceVersion
        }
    }

    /// The Secret's contents (a missing key reads as empty), nil when it does not exist. A Secret of another type
    /// is reported: it is someone else's and never overwritten.
    package func tlsSecret(namespace: String, name: String) async throws(KubernetesError) -> TLSSecret? {
        guard let object = try await secret(namespace: namespace, name: name) else { return nil }
        let type = object["type"]?.stringValue ?? "Opaque"
        guard type == Self.tlsSecretType else {
            throw .wrongSecretType(namespace: namespace, name: name, type: type)
        }
        let data = object["data"]?.objectValue ?? [:]
        func decoded(_ key: String) -> [UInt8] { data[key]?.stringValue.flatMap(Base64.decode) ?? [] }
        var contents = TLSSecret(
            certificate: decoded("tls.crt"),
            privateKey: Credentials.Secret(String(decoding: decoded("tls.key"), as: UTF8.self)),
            certificateAuthority: decoded("ca.crt"), resourceVersion: object.resourceVersion)
        contents.previousCertificateAuthority = decoded(Self.previousCAKey)
        return contents
    }

    /// Creates the Secret (`contents.resourceVersion` nil) or replaces the one at that resourceVersion. A lost
    /// race is thrown (`alreadyExists`, `conflict`), not retried: the caller reads the winner's certificate and
    /// serves that one, so replicas agree instead of overwriting each other.
    package func writeTLSSecret(namespace: String, name: String, _ contents: TLSSecret, labels: [String: String])
        async throws(KubernetesError) -> TLSSecret
    {
        var metadata: [String: JSONValue] = [
            "name": .string(name), "namespace": .string(namespace),
            "labels": .object(labels.mapValues(JSONValue.string)),
        ]
        if let version = contents.resourceVersion { metadata["resourceVersion"] = .string(version) }
        var data: [String: JSONValue] = [
            "tls.crt": .string(Base64.encode(contents.certificate)),
            "tls.key": .string(Base64.encode(Array(contents.privateKey.exposedValue.utf8))),
            "ca.crt": .string(Base64.encode(contents.certificateAuthority)),
        ]
        if !contents.previousCertificateAuthority.isEmpty {
            data[Self.previousCAKey] = .string(Base64.encode(contents.previousCertificateAuthority))
        }
        let object: [String: JSONValue] = [
            "apiVersion": .string("v1"), "kind": .string("Secret"), "metadata": .object(metadata),
            "type": .string(Self.tlsSecretType), "data": .object(data),
        ]
        let written: [String: JSONValue]
        do {
            if contents.resourceVersion == nil {
                written = try await createSecret(object, namespace: namespace)
            } else {
                written = try await replaceSecret(object, namespace: namespace, name: name)
            }
        } catch .conflict {
            throw .conflict(resource: "secrets", namespace: namespace, name: name, attempts: 1)
        }
        var result = contents
        result.resourceVersion = written.resourceVersion
        return result
    }
}

package import Credentials
internal import SystemSupport

/// What the kubelet writes to a credential provider's stdin (`credentialprovider.kubelet.k8s.io/v1`,
/// Kubernetes docs "Kubelet Credential Provider API"): the image being pulled and, when the provider config
/// has `tokenAttributes` (KEP-4412, Kubernetes 1.33+), the pod's service-account token and the annotations of
/// its service account that the config names.
package struct CredentialProviderRequest: Sendable, Equatable {
    package static let apiVersion = "credentialprovider.kubelet.k8s.io/v1"
    package static let kind = "CredentialProviderRequest"
    /// A request is a few hundred bytes plus a token (~1 KiB) and some annotations; more is not a kubelet.
    package static let maximumBytes = 256 * 1024

    package var image: String
    package var serviceAccountToken: Secret?
    package var serviceAccountAnnotations: [String: String]

    package init(image: String, serviceAccountToken: Secret? = nil, serviceAccountAnnotations: [String: String] = [:]) {
        self.image = image
        self.serviceAccountToken = serviceAccountToken
        self.serviceAccountAnnotations = serviceAccountAnnotations
    }

    package enum ParseError: Error, Equatable, CustomStringConvertible {
        case tooLarge
        case notJSON(String)
        case wrongType(apiVersion: String, kind: String)
        case missingImage
        case invalidField(String)

        package var description: String {
            switch self {
            case .tooLarge: return "the request is larger than \(CredentialProviderRequest.maximumBytes) bytes"
            case .notJSON(let reason): return "the request is not a JSON object: \(reason)"
            case .wrongType(let apiVersion, let kind):
                return "expected kind \(CredentialProviderRequest.kind) of apiVersion "
                    + "\(CredentialProviderRequest.apiVersion), got kind \"\(kind)\" of \"\(apiVersion)\"; set "
                    + "apiVersion: \(CredentialProviderRequest.apiVersion) for this provider in the kubelet's "
                    + "CredentialProviderConfig"
            case .missingImage: return "the request has no `image`"
            case .invalidField(let name): return "the request's `\(name)` has the wrong type"
            }
        }
    }

    package static func parse(_ bytes: [UInt8]) throws(ParseError) -> CredentialProviderRequest {
        guard bytes.count <= maximumBytes else { throw .tooLarge }
        let object: [String: JSONValue]
        do {
            object = try JSONValue.parseObject(bytes)
        } catch {
            throw .notJSON(error.description)
        }
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        let kind = object["kind"]?.stringValue ?? ""
        guard apiVersion == Self.apiVersion, kind == Self.kind else {
            throw .wrongType(apiVersion: apiVersion, kind: kind)
        }
        guard let image = object["image"]?.stringValue, !image.isEmpty else { throw .missingImage }
        var request = CredentialProviderRequest(image: image)
        switch object["serviceAccountToken"] {
        case nil, .null?: break
        case .string(let token)?: if !token.isEmpty { request.serviceAccountToken = Secret(token) }
        default: throw .invalidField("serviceAccountToken")
        }
        switch object["serviceAccountAnnotations"] {
        case nil, .null?: break
        case .object(let annotations)?:
            for (key, value) in annotations {
                guard let text = value.stringValue else { throw .invalidField("serviceAccountAnnotations") }
                request.serviceAccountAnnotations[key] = text
            }
        default: throw .invalidField("serviceAccountAnnotations")
        }
        return request
    }
}

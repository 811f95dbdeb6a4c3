internal import FoundationEssentials
package import SystemSupport

/// The parts of an `admission.k8s.io/v1` AdmissionReview request the webhook reads (Kubernetes docs, "Dynamic
/// Admission Control", "Request"), and the response it answers with. A document that is not such a review is a
/// `AdmissionReviewError`, answered with 400: the API server never sends one, so it is a misconfiguration or a
/// probe, and the webhook keeps serving.
package struct AdmissionReview: Sendable {
    package let uid: String
    /// `request.kind` (group, version, kind) of the object admitted.
    package let group: String
    package let kind: String
    package let subResource: String?
    package let operation: String
    package let namespace: String
    package let object: [String: JSONValue]?

    package static func parse(_ body: [UInt8]) throws(AdmissionReviewError) -> AdmissionReview {
        let document: [String: JSONValue]
        do {
            document = try JSONValue.parseObject(body)
        } catch {
            throw .notJSON("\(error)")
        }
        guard document["apiVersion"]?.stringValue == "admission.k8s.io/v1",
            document["kind"]?.stringValue == "AdmissionReview"
        else {
            throw .notAReview(
                "apiVersion must be admission.k8s.io/v1 and kind AdmissionReview; the MutatingWebhookConfiguration "
                    + "must list admissionReviewVersions: [v1]")
        }
        guard let request = document["request"]?.objectValue else { throw .missing("request") }
        guard let uid = request["uid"]?.stringValue, !uid.isEmpty else { throw .missing("request.uid") }
        guard let kind = request["kind"]?.objectValue, let kindName = kind["kind"]?.stringValue else {
            throw .missing("request.kind")
        }
        guard let operation = request["operation"]?.stringValue else { throw .missing("request.operation") }
        var object: [String: JSONValue]?
        switch request["object"] {
        case .object(let value)?: object = value
        case .null?, nil: object = nil
        default: throw .notAReview("request.object must be an object")
        }
        return AdmissionReview(
            uid: uid, group: kind["group"]?.stringValue ?? "", kind: kindName,
            subResource: request["subResource"]?.stringValue, operation: operation,
            namespace: request["namespace"]?.stringValue ?? "", object: object)
    }

    /// Whether this is the creation of a Pod itself (not a subresource such as pods/ephemeralcontainers).
    package var isPodCreation: Bool {
        group.isEmpty && kind == "Pod" && (subResource ?? "").isEmpty && operation == "CREATE" && object != nil
    }

    /// The AdmissionReview answering this one: always allowed (the webhook never blocks a Pod), with the JSON
    /// Patch when there is one.
    package func response(patch: [JSONValue]) throws -> [UInt8] {
        var response: [String: JSONValue] = ["uid": .string(uid), "allowed": .bool(true)]
        if !patch.isEmpty {
            let encoded = try JSONEncoder().encode(JSONValue.array(patch))
            response["patchType"] = .string("JSONPatch")
            response["patch"] = .string(encoded.base64EncodedString())
        }
        return try JSONValue.serialize(
            [
                "apiVersion": .string("admission.k8s.io/v1"), "kind": .string("AdmissionReview"),
                "response": .object(response),
            ], pretty: false)
    }
}

package enum AdmissionReviewError: Error, Equatable, CustomStringConvertible {
    case notJSON(String)
    case notAReview(String)
    case missing(String)

    package var description: String {
        switch self {
        case .notJSON(let reason): return "the body is not a JSON object: \(reason)"
        case .notAReview(let reason): return "not an AdmissionReview: \(reason)"
        case .missing(let field): return "the AdmissionReview has no \(field)"
        }
    }
}

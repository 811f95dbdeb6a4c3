internal import Credentials
internal import SystemSupport

/// The `store` payload `{"ServerURL":…,"Username":…,"Secret":…}`, read as docker-credential-helpers reads it
/// (Go's json.Unmarshal into a struct): field names match case-insensitively, and of several keys naming the same
/// field the last in the document wins. Members are taken in document order, so the same bytes always store the
/// same thing (a dictionary's order once picked a random winner per process).
struct StoreRequest {
    var serverURL: String
    var username: String
    var secret: Secret

    enum DecodeError: Error, CustomStringConvertible {
        case notJSONObject
        case fieldNotString(String)
        var description: String {
            switch self {
            case .notJSONObject:
                return "expected an object {\"ServerURL\":…,\"Username\":…,\"Secret\":…}"
            case .fieldNotString(let name):
                return "field \(name) must be a string"
            }
        }
    }

    static func decode(_ bytes: [UInt8]) throws(DecodeError) -> StoreRequest {
        guard let members = try? JSONValue.parseMembers(bytes) else { throw .notJSONObject }
        var request = StoreRequest(serverURL: "", username: "", secret: Secret(""))
        for (name, value) in members {
            let field: WritableKeyPath<StoreRequest, String>?
            switch Self.goFolded(name) {
            case "serverurl": field = \.serverURL
            case "username": field = \.username
            case "secret":
                guard case .string(let text) = value else {
                    if value == .null { continue }
                    throw .fieldNotString("Secret")
                }
                request.secret = Secret(text)
                continue
            default: field = nil
            }
            guard let field else { continue }
            switch value {
            case .string(let text): request[keyPath: field] = text
            case .null: continue
            default: throw .fieldNotString(name)
            }
        }
        return request
    }

    /// Go's encoding/json field matching folds case with Unicode simple folding, so `ſecret` (U+017F, which folds
    /// to `s`) names Secret as well; ASCII lower-casing plus that one letter covers every rune that folds into
    /// these three field names.
    static func goFolded(_ name: String) -> String {
        String(name.unicodeScalars.map { $0 == "\u{017F}" ? "s" : Character($0) }).lowercased()
    }
}

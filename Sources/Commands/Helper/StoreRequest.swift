import Credentials
import SystemSupport

/// The `store` payload `{"ServerURL":…,"Username":…,"Secret":…}`. Field names match case-insensitively, as
/// Go's json.Unmarshal matches them, so clients that lower-case the keys keep working.
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
        guard let object = try? JSONValue.parseObject(bytes) else { throw .notJSONObject }
        var request = StoreRequest(serverURL: "", username: "", secret: Secret(""))
        for (name, value) in object {
            let field: WritableKeyPath<StoreRequest, String>?
            switch name.lowercased() {
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
}

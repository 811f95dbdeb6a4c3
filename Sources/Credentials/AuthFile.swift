internal import Crypto
package import SystemSupport

/// A containers `auth.json` or docker `config.json`. Only `auths`, `credHelpers` and `credsStore` are
/// interpreted; every other key is kept as it was, so a file we rewrite loses nothing.
package struct AuthFile: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// `auths` entries as written, keyed as written (a host, `host/namespace`, or a URL).
    package var auths: [String: JSONValue]
    /// `auths` keys in the order the file lists them, so a lookup that several keys could answer picks the
    /// same one in every process (a dictionary's order differs per run).
    var authsOrder: [String] = []
    package var credHelpers: [String: String]
    package var credsStore: String?
    package var otherFields: [String: JSONValue]

    package init(
        auths: [String: JSONValue] = [:], credHelpers: [String: String] = [:], credsStore: String? = nil,
        otherFields: [String: JSONValue] = [:]
    ) {
        self.auths = auths
        self.credHelpers = credHelpers
        self.credsStore = credsStore
        self.otherFields = otherFields
    }

    /// `auths` values are base64 of user:password (or tokens): printed and reflected forms list keys only.
    package var description: String {
        "AuthFile(auths: \(auths.keys.sorted()), credHelpers: \(credHelpers), credsStore: \(credsStore ?? "none"), "
            + "other keys: \(otherFields.keys.sorted()))"
    }
    package var debugDescription: String { description }
    package var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "auths": auths.keys.sorted(), "credHelpers": credHelpers, "credsStore": credsStore as Any,
                "otherFields": otherFields.keys.sorted(),
            ], displayStyle: .struct)
    }

    package enum ParseError: Error, Equatable, CustomStringConvertible {
        case notJSON
        case wrongShape(field: String)
        package var description: String {
            switch self {
            case .notJSON: return "it is not a JSON object"
            case .wrongShape(let field): return "`\(field)` has the wrong type"
            }
        }
    }

    package static func parse(_ bytes: [UInt8]) throws(ParseError) -> AuthFile {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x09 || $0 == 0x0d }) { return AuthFile() }
        var object: [String: JSONValue]
        do {
            object = try JSONValue.parseObject(bytes)
        } catch {
            throw .notJSON
        }
        var file = AuthFile()
        if let value = object.removeValue(forKey: "auths") {
            guard case .object(let auths) = value else { throw .wrongShape(field: "auths") }
            file.auths = auths
            var seen = Set<String>()
            file.authsOrder = ((try? JSONValue.parseMembers(bytes, path: ["auths"])) ?? []).compactMap {
                seen.insert($0.key).inserted ? $0.key : nil
            }
        }
        if let value = object.removeValue(forKey: "credHelpers") {
            guard case .object(let helpers) = value else { throw .wrongShape(field: "credHelpers") }
            for (host, helper) in helpers {
                guard case .string(let name) = helper else { throw .wrongShape(field: "credHelpers.\(host)") }
                file.credHelpers[host] = name
            }
        }
        if let value = object.removeValue(forKey: "credsStore") {
            guard case .string(let name) = value else { throw .wrongShape(field: "credsStore") }
            file.credsStore = name
        }
        file.otherFields = object
        return file
    }

    /// Whether this file hands `key`'s host to the helper named `helper` (via `credHelpers` or `credsStore`).
    /// Such hosts' `auths` entries are placeholders docker leaves behind, and reading them back from inside
    /// that helper would answer with stale data or loop.
    func delegates(_ key: CredentialKey, to helper: String) -> Bool {
        if credsStore == helper { return true }
        for (host, name) in credHelpers where name == helper {
            if let helperKey = try? CredentialKey(serverURL: host), helperKey.host == key.host { return true }
        }
        return false
    }

    /// The username and secret for `key` from `auths`, trying `key.lookupOrder` (most specific first) the way
    /// containers/image does. For each candidate the key spelled exactly as containers (`docker.io`) or docker
    /// (`https://index.docker.io/v1/`) write it wins, as containers/image's exact lookup does; otherwise the first
    /// entry, in the file's order, whose key normalises to it. Entries without usable credentials (docker's `{}`
    /// placeholders) are skipped.
    func credential(for key: CredentialKey) -> (username: String, secret: Secret)? {
        let listed = Set(authsOrder)
        let ordered = authsOrder.filter { auths[$0] != nil } + auths.keys.filter { !listed.contains($0) }.sorted()
        for candidate in key.lookupOrder {
            for spelling in [candidate.description, candidate.dockerConfigKey] {
                if let entry = auths[spelling], let credential = Self.decodeEntry(entry) { return credential }
            }
            for name in ordered where (try? CredentialKey(serverURL: name)) == candidate {
                if let credential = Self.decodeEntry(auths[name]!) { return credential }
            }
        }
        return nil
    }

    /// Decodes one `auths` entry: `identitytoken` wins (docker's `<token>` convention), else `auth`
    /// (base64 of `user:password`, the password may contain `:`), else `username`/`password`.
    static func decodeEntry(_ entry: JSONValue) -> (username: String, secret: Secret)? {
        guard case .object(let fields) = entry else { return nil }
        if let token = fields["identitytoken"]?.stringValue, !token.isEmpty { return ("<token>", Secret(token)) }
        if let auth = fields["auth"]?.stringValue, !auth.isEmpty,
            let decoded = Base64Text.decode(auth), let colon = decoded.firstIndex(of: ":")
        {
            let username = String(decoded[..<colon])
            if !username.isEmpty { return (username, Secret(String(decoded[decoded.index(after: colon)...]))) }
        }
        if let username = fields["username"]?.stringValue, !username.isEmpty,
            let password = fields["password"]?.stringValue
        {
            return (username, Secret(password))
        }
        return nil
    }
}

typealias CryptoBase64 = Crypto.Base64

/// Base64 text helpers over Crypto's codec, for fields that hold UTF-8 text.
enum Base64Text {
    static func decode(_ text: String) -> String? {
        guard let bytes = CryptoBase64.decode(text) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}

internal import SystemSupport

/// What a change to an auth file does, entry by entry, for `--dry-run`: only what changes, and never a
/// credential. A line diff of the whole file put every `auths` value (base64 of user:password) into CI logs and
/// needed a table quadratic in the file's length (2.6 GB for an 18,000-line config.json); this compares the two
/// parsed files key by key, in time linear in their size.
package struct AuthFileChange: Sendable, Equatable {
    package enum Kind: Sendable, Equatable {
        case added, removed, changed
    }

    package struct Line: Sendable, Equatable {
        package var kind: Kind
        /// `credHelpers."ghcr.io"`, `auths."quay.io"`, `credsStore`, or another top-level key.
        package var field: String
        /// The new value (the old one for a removal) as JSON text, or `<redacted>` for anything under `auths`
        /// and every top-level key ocicred does not interpret, which may hold tokens.
        package var value: String
    }

    package var lines: [Line]
    package var isEmpty: Bool { lines.isEmpty }

    package init(before: AuthFile, after: AuthFile) {
        var lines = [Line]()
        func compare(_ prefix: String, _ old: [String: JSONValue], _ new: [String: JSONValue], reveal: Bool) {
            for key in Set(old.keys).union(new.keys).sorted() {
                let field = prefix + Self.quoted(key)
                switch (old[key], new[key]) {
                case (nil, let value?): lines.append(Line(kind: .added, field: field, value: Self.show(value, reveal)))
                case (let value?, nil):
                    lines.append(Line(kind: .removed, field: field, value: Self.show(value, reveal)))
                case (let was?, let now?) where was != now:
                    lines.append(Line(kind: .changed, field: field, value: Self.show(now, reveal)))
                default: break
                }
            }
        }
        compare("auths.", before.auths, after.auths, reveal: false)
        compare(
            "credHelpers.", before.credHelpers.mapValues(JSONValue.string),
            after.credHelpers.mapValues(JSONValue.string), reveal: true)
        compare(
            "", before.credsStore.map { ["credsStore": .string($0)] } ?? [:],
            after.credsStore.map { ["credsStore": .string($0)] } ?? [:], reveal: true)
        compare("", before.otherFields, after.otherFields, reveal: false)
        self.lines = lines
    }

    /// `--- path`, `+++ path (after)`, then `+ field: value`, `- field: value`, `~ field: value` per change.
    package func rendered(path: String) -> String {
        var out = "--- \(path)\n+++ \(path) (after)\n"
        if lines.isEmpty { out += "  (no change)\n" }
        for line in lines {
            let sign: String
            switch line.kind {
            case .added: sign = "+"
            case .removed: sign = "-"
            case .changed: sign = "~"
            }
            out += "\(sign) \(line.field): \(line.value)\n"
        }
        return out
    }

    private static func show(_ value: JSONValue, _ reveal: Bool) -> String {
        guard reveal, case .string(let text) = value else { return "<redacted>" }
        return "\"" + text + "\""
    }

    private static func quoted(_ key: String) -> String {
        key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } ? key : "\"" + key + "\""
    }
}

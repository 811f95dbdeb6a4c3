/// Every way Swift turns a value into text without asking for it — `String(describing:)`,
/// `String(reflecting:)`, `dump`, and a walk of its Mirror down to the leaves — checked for a secret.
package enum RedactionProbe {
    /// The forms of `value` that contain `secret`, by name; empty when none does.
    package static func leaks(of value: Any, secret: String) -> [String] {
        var leaks: [String] = []
        if String(describing: value).contains(secret) { leaks.append("String(describing:)") }
        if String(reflecting: value).contains(secret) { leaks.append("String(reflecting:)") }
        var dumped = ""
        dump(value, to: &dumped)
        if dumped.contains(secret) { leaks.append("dump") }
        var pending: [(path: String, value: Any)] = [("", value)]
        var visited = 0
        while let (path, next) = pending.popLast(), visited < 10_000 {
            visited += 1
            let mirror = Mirror(reflecting: next)
            if mirror.children.isEmpty, String(describing: next).contains(secret) { leaks.append("Mirror\(path)") }
            for (index, child) in mirror.children.enumerated() {
                pending.append((path + "." + (child.label ?? String(index)), child.value))
            }
        }
        return leaks
    }
}

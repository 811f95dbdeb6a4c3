/// The user a container process runs as, resolved from the image's `User` through its own `/etc/passwd` and
/// `/etc/group` with the rules of runc's and umoci's resolver (moby/sys/user `GetExecUser`), so the bundle gets
/// the uid, gid, supplementary groups and HOME that `umoci unpack` would write:
/// - `""` is uid 0; `name` or `uid`, optionally `:group` or `:gid`; a number is always an id;
/// - a name must be in the file; a number need not be (then no home, no groups);
/// - supplementary groups only when the group is implicit (the groups listing the matched user's name).
struct ExecUser: Sendable, Equatable {
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var additionalGids: [UInt32] = []
    var home: String = ""

    /// `passwd` and `group` are the files' bytes, nil when the image has no such file.
    static func resolve(_ spec: String, passwd: [UInt8]?, group: [UInt8]?) throws(LazyMountError) -> ExecUser {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let userArg = parts.first ?? ""
        let groupArg = parts.count > 1 ? parts[1] : ""
        let uidArg = Int(userArg)
        let gidArg = Int(groupArg)
        var user = ExecUser()

        let users = (passwd.map(Self.records) ?? []).filter { fields in
            let uid = Self.number(fields, 2)
            if userArg.isEmpty { return uid == Int(user.uid) }
            if let uidArg { return uid == uidArg }
            return fields[0] == userArg
        }
        var matchedName = ""
        if let first = users.first {
            matchedName = first[0]
            user.uid = UInt32(truncatingIfNeeded: Self.number(first, 2))
            user.gid = UInt32(truncatingIfNeeded: Self.number(first, 3))
            user.home = Self.field(first, 5)
        } else if !userArg.isEmpty {
            guard let uidArg else {
                throw .bundle(reason: "the image's user \"\(spec)\" is not in its /etc/passwd")
            }
            guard (0...Int(Int32.max)).contains(uidArg) else {
                throw .bundle(reason: "the image's user \"\(spec)\" is out of range")
            }
            user.uid = UInt32(uidArg)
        }

        guard !groupArg.isEmpty || !matchedName.isEmpty else { return user }
        let groups = (group.map(Self.records) ?? []).filter { fields in
            if groupArg.isEmpty {
                return Self.field(fields, 3).split(separator: ",").contains { $0 == matchedName }
            }
            if let gidArg { return Self.number(fields, 2) == gidArg }
            return fields[0] == groupArg
        }
        if !groupArg.isEmpty {
            if let first = groups.first {
                user.gid = UInt32(truncatingIfNeeded: Self.number(first, 2))
            } else {
                guard let gidArg else {
                    throw .bundle(reason: "the image's group \"\(groupArg)\" is not in its /etc/group")
                }
                guard (0...Int(Int32.max)).contains(gidArg) else {
                    throw .bundle(reason: "the image's group \"\(groupArg)\" is out of range")
                }
                user.gid = UInt32(gidArg)
            }
        } else {
            user.additionalGids = groups.map { UInt32(truncatingIfNeeded: Self.number($0, 2)) }
        }
        return user
    }

    /// Non-blank lines, trimmed of ASCII blanks, split on `:` (passwd(5), group(5)). Bytes, not Characters:
    /// Swift counts "\r\n" as one Character.
    static func records(_ bytes: [UInt8]) -> [[String]] {
        let blank: (UInt8) -> Bool = { $0 == 0x20 || (0x09...0x0D).contains($0) }
        return bytes.split(separator: 0x0A).compactMap { raw in
            let line = raw.drop(while: blank).reversed().drop(while: blank).reversed()
            guard !line.isEmpty else { return nil }
            return String(decoding: Array(line), as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false)
                .map(String.init)
        }
    }

    static func field(_ fields: [String], _ index: Int) -> String { index < fields.count ? fields[index] : "" }

    /// A numeric field; like the Go resolver, anything unparsable counts as 0.
    static func number(_ fields: [String], _ index: Int) -> Int { Int(field(fields, index)) ?? 0 }
}

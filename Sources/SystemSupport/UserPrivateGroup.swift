internal import Glibc
internal import Synchronization

/// The user-private-group rule of Debian's OpenSSH (`secure_permissions`, its user-group-modes patch): group
/// write on a path is harmless when the group has exactly one member, the path's owner — as its primary group
/// (and nobody else's) or as its only listed member. Fedora, RHEL and Debian give every user such a group and a
/// umask of 002, so `mkdir -p ~/.local/share` leaves it 0775 with nobody else able to write there. A group with
/// no member at all is refused, as ssh does (such groups serve setgid programs).
package enum UserPrivateGroup {
    /// Whether `info`'s group write bit is excused: not other-writable, and its group is private to its owner.
    static func excuses(_ info: stat) -> Bool {
        guard info.st_mode & 0o002 == 0 else { return false }
        guard info.st_mode & 0o020 != 0 else { return true }
        return isPrivate(group: info.st_gid, owner: info.st_uid)
    }

    /// getpwent walks one process-wide cursor; two threads walking it at once would each see half the file.
    private static let passwdCursor = Mutex(())

    static func isPrivate(group: gid_t, owner: uid_t) -> Bool {
        guard let members = listedMembers(of: group), let ownerName = userName(owner) else { return false }
        var count = 0
        let othersHaveItAsPrimary: Bool = passwdCursor.withLock { _ in
            setpwent()
            defer { endpwent() }
            while let entry = getpwent() {
                guard entry.pointee.pw_gid == group else { continue }
                count += 1
                if entry.pointee.pw_uid != owner { return true }
            }
            return false
        }
        if othersHaveItAsPrimary { return false }
        if let first = members.first {
            guard members.count == 1, first == ownerName else { return false }
            count += 1
        }
        return count > 0
    }

    /// The group's supplementary members (`gr_mem`), nil when the group is unknown.
    private static func listedMembers(of groupID: gid_t) -> [String]? {
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        return buffer.withUnsafeMutableBufferPointer { storage -> [String]? in
            var entry = group()
            var result: UnsafeMutablePointer<group>?
            guard getgrgid_r(groupID, &entry, storage.baseAddress!, storage.count, &result) == 0, result != nil
            else { return nil }
            var names: [String] = []
            if var member = entry.gr_mem {
                while let name = member.pointee {
                    names.append(String(cString: name))
                    member += 1
                }
            }
            return names
        }
    }

    private static func userName(_ user: uid_t) -> String? {
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        return buffer.withUnsafeMutableBufferPointer { storage -> String? in
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            guard getpwuid_r(user, &entry, storage.baseAddress!, storage.count, &result) == 0, result != nil,
                entry.pw_name != nil
            else { return nil }
            return String(cString: entry.pw_name)
        }
    }
}

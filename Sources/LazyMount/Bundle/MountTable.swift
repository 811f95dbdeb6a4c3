internal import FoundationEssentials
internal import SystemSupport

/// /proc/PID/mountinfo, read to find which mounts exist and who else still holds ours (proc(5)).
enum MountTable {
    struct Line: Sendable, Equatable {
        /// `major:minor` of the filesystem: the same in every mount namespace that holds it.
        var device: String
        var mountPoint: String
        var type: String
        var superOptions: String
    }

    static func read(_ pid: String = "self") -> [Line] {
        guard let bytes = BundleFiles.read("/proc/\(pid)/mountinfo") else { return [] }
        return parse(String(decoding: bytes, as: UTF8.self))
    }

    static func parse(_ text: String) -> [Line] {
        text.split(separator: "\n").compactMap { line in
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { return nil }
            let fields = halves[0].split(separator: " ")
            let tail = halves[1].split(separator: " ")
            guard fields.count >= 5, tail.count >= 3 else { return nil }
            return Line(
                device: String(fields[2]), mountPoint: unescape(String(fields[4])), type: String(tail[0]),
                superOptions: unescape(String(tail[2])))
        }
    }

    /// The mount exactly at `path` (the last one, which is on top), after resolving `path`.
    static func mount(at path: String) -> Line? {
        guard let target = try? FileSystemMount.realPath(path) else { return nil }
        return read().last { $0.mountPoint == target }
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
    static func unescape(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Processes that still use a bundle's mounts: one per mount namespace (other than ours) holding a mount of
    /// `devices` — a runc container's root is our overlay — and, in any namespace, overlays other than `ownMount`
    /// stacked on `paths` — podman's `--rootfs DIR/rootfs:O`. Each as "pid N (command)".
    static func users(devices: Set<String>, paths: [String], ownMount: String) -> [String] {
        let ownNamespace = namespace("self")
        var seen: Set<String> = []
        var users: [String] = []
        let stacked = { (line: Line) -> Bool in
            line.mountPoint != ownMount && (line.type == "overlay" || line.type.hasSuffix("fuse-overlayfs"))
                && paths.contains { path in
                    line.superOptions.split(separator: ",").contains {
                        $0.hasPrefix("lowerdir=") && $0.split(separator: ":").contains { $0.hasSuffix(path) }
                    }
                }
        }
        if read().contains(where: stacked) { users.append("an overlay stacked on it in this mount namespace") }
        let me = String(ProcessIdentity.processID)
        for name in (try? FileIO.list("/proc")) ?? [] {
            guard !name.isEmpty, name.allSatisfy(\.isNumber), name != me else { continue }
            guard let space = namespace(name), space != ownNamespace, seen.insert(space).inserted else { continue }
            if read(name).contains(where: { devices.contains($0.device) || stacked($0) }) {
                users.append("pid \(name) (\(command(name)))")
            }
        }
        return users
    }

    static func namespace(_ pid: String) -> String? { FileSystemMount.linkTarget("/proc/\(pid)/ns/mnt") }

    static func command(_ pid: String) -> String {
        let bytes = BundleFiles.read("/proc/\(pid)/comm") ?? []
        return String(decoding: bytes, as: UTF8.self).trimmingSuffix("\n")
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}

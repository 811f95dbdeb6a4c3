internal import SystemSupport

/// Unmaps the executable's code pages from the sidecar once a refresh pass is done, so what stays resident
/// while it idles is its data, not the code that start-up and the pass ran.
///
/// Why: the release binary carries the Swift runtime and Foundation inside it (helpers/build-release), ~30 MB of
/// code, and the kernel maps file pages around every fault (fault-around, 64 KiB), so parsing arguments and
/// YAML, resolving and writing once leave ~14 MB of code resident that idling never runs — most of the
/// sidecar's RSS (issue 5's target is 15 MiB; its own heap is about 1 MB with 10 registries). The pages stay
/// in the page cache, shared with every other ocicred process; a later pass maps back what it runs with minor
/// faults, microseconds in a pass that waits on the network.
///
/// Only mappings that cannot hold a private change are released: executable, backed by our own binary, and
/// with no anonymous (copied-on-write) page. `MADV_DONTNEED` on a private writable mapping would throw away
/// the process's writes; on clean code it only drops page-table entries.
enum StartupCode {
    struct Mapping: Equatable {
        var start: UInt
        var end: UInt
    }

    /// Best effort: returns the bytes released, 0 when /proc is unreadable or nothing qualifies.
    @discardableResult
    static func release() -> Int {
        guard let executable = executablePath(), let smaps = try? FileIO.readText("/proc/self/smaps", limit: 64 << 20)
        else { return 0 }
        var released = 0
        for mapping in codeMappings(smaps: smaps, executable: executable) {
            let length = Int(mapping.end - mapping.start)
            if (try? ProcessMemory.dropPages(start: mapping.start, length: length)) != nil { released += length }
        }
        return released
    }

    /// The `r-xp` mappings of `executable` in `/proc/PID/smaps` text whose `Anonymous:` size is 0.
    static func codeMappings(smaps: String, executable: String) -> [Mapping] {
        var found = [Mapping]()
        var candidate: Mapping?
        for line in smaps.split(separator: "\n", omittingEmptySubsequences: true) {
            if let header = parseHeader(line) {
                candidate = header.permissions == "r-xp" && header.path == executable ? header.mapping : nil
                continue
            }
            guard let mapping = candidate, line.hasPrefix("Anonymous:") else { continue }
            let kilobytes = line.dropFirst("Anonymous:".count).split(separator: " ").first.flatMap { Int($0) }
            if kilobytes == 0 { found.append(mapping) }
            candidate = nil
        }
        return found
    }

    /// `start-end perms offset dev inode [path]`; nil for the `Key: value` lines between headers.
    private static func parseHeader(_ line: Substring) -> (mapping: Mapping, permissions: Substring, path: Substring)? {
        let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard fields.count >= 5, !fields[0].hasSuffix(":") else { return nil }
        let bounds = fields[0].split(separator: "-")
        guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
            start < end
        else { return nil }
        let path = fields.count == 6 ? fields[5].drop(while: { $0 == " " }) : ""
        return (Mapping(start: start, end: end), fields[1], path)
    }

    private static func executablePath() -> String? { FileSystemMount.linkTarget("/proc/self/exe") }
}

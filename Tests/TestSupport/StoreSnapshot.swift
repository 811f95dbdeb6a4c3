package import Foundation

/// Everything under a few directories or files — each entry's relative path, kind, permission bits and bytes —
/// so a test can say "this command left the store exactly as it was" and "nothing at rest holds the secret".
///
/// `description` and `differences(from:)` name paths, kinds, modes and sizes only, never contents: the
/// contents are what a test is checking for secrets, so they stay out of test logs.
package struct StoreSnapshot: Equatable, Sendable, CustomStringConvertible {
    package enum Kind: String, Sendable { case file, directory, symlink, other, missing }

    package struct Entry: Equatable, Sendable {
        /// `root` + "/" + the path below it (the root itself has no suffix).
        package let path: String
        package let kind: Kind
        /// Permission bits (`st_mode & 0o7777`).
        package let mode: Int
        /// File bytes, or a symlink's target as UTF-8; empty for directories.
        package let contents: Data

        package var name: String { (path as NSString).lastPathComponent }
        package var octalMode: String { String(mode, radix: 8) }
    }

    package let entries: [Entry]

    /// Walks every root (without following symbolic links); a root that does not exist is recorded as missing.
    package init(of roots: [String]) throws {
        var entries: [Entry] = []
        for root in roots {
            try Self.visit(root, into: &entries)
        }
        self.entries = entries.sorted { $0.path < $1.path }
    }

    package var files: [Entry] { entries.filter { $0.kind == .file } }
    package var directories: [Entry] { entries.filter { $0.kind == .directory } }

    /// Files whose bytes contain `needle` anywhere.
    package func files(containing needle: Data) -> [Entry] {
        files.filter { !needle.isEmpty && $0.contents.range(of: needle) != nil }
    }

    /// What changed, one line per path, without contents.
    package func differences(from before: StoreSnapshot) -> [String] {
        let old = Dictionary(before.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let new = Dictionary(entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var lines: [String] = []
        for path in Set(old.keys).union(new.keys).sorted() {
            switch (old[path], new[path]) {
            case (nil, let added?): lines.append("added \(Self.summary(added))")
            case (let removed?, nil): lines.append("removed \(Self.summary(removed))")
            case (let was?, let now?) where was != now:
                var what: [String] = []
                if was.kind != now.kind { what.append("kind \(was.kind.rawValue) → \(now.kind.rawValue)") }
                if was.mode != now.mode { what.append("mode \(was.octalMode) → \(now.octalMode)") }
                if was.contents != now.contents {
                    what.append("contents changed (\(was.contents.count) → \(now.contents.count) bytes)")
                }
                lines.append("changed \(path): " + what.joined(separator: ", "))
            default: break
            }
        }
        return lines
    }

    package var description: String {
        entries.map(Self.summary).joined(separator: "\n")
    }

    private static func summary(_ entry: Entry) -> String {
        "\(entry.path) [\(entry.kind.rawValue) \(entry.octalMode), \(entry.contents.count) bytes]"
    }

    private static func visit(_ path: String, into entries: inout [Entry]) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT {
                entries.append(Entry(path: path, kind: .missing, mode: 0, contents: Data()))
                return
            }
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        let mode = Int(info.st_mode & 0o7777)
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            entries.append(Entry(path: path, kind: .directory, mode: mode, contents: Data()))
            for child in try FileManager.default.contentsOfDirectory(atPath: path).sorted() {
                try visit(path + "/" + child, into: &entries)
            }
        case S_IFREG:
            let contents = try Data(contentsOf: URL(fileURLWithPath: path))
            entries.append(Entry(path: path, kind: .file, mode: mode, contents: contents))
        case S_IFLNK:
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: path)
            entries.append(Entry(path: path, kind: .symlink, mode: mode, contents: Data(target.utf8)))
        default:
            entries.append(Entry(path: path, kind: .other, mode: mode, contents: Data()))
        }
    }
}

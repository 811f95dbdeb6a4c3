import Foundation
import TestSupport
import Testing

/// `ocicred index` as a user types it, after `ocicred login`, against the Debian docker-registry with htpasswd:
/// the merged tree it writes matches `umoci unpack` of the same image path for path.
@Suite(.serialized)
struct IndexTests {
    @Test func indexWritesTheMergedTreeUmociUnpacks() throws {
        let password = "pw:" + UUID().uuidString.prefix(8).lowercased()
        let registry = try RegistryFixture.start(username: "indexer", password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-index")
        defer { directory.remove() }
        let home = directory.file("home")
        let environment = try OcicredBinary.registryEnvironment(home: home)
        let image = try LayeredImage.build(in: directory)
        try image.push(to: registry, password: password, repository: "team/layered", directory: directory)

        let login = try OcicredBinary.run(
            ["login", registry.host, "-u", "indexer", "--password-stdin"], home: home, stdin: password + "\n",
            extraEnvironment: environment)
        try #require(login.status == 0, "login: \(login)")

        let output = directory.file("index.json")
        let reference = "\(registry.host)/team/layered:layered"
        let indexed = try OcicredBinary.run(
            ["index", reference, "-o", output, "--span", "262144"], home: home, extraEnvironment: environment,
            timeout: 120)
        try #require(indexed.status == 0, "index: \(indexed)\n\(registry.log.suffix(3000))")
        #expect(!indexed.stderrText.contains(password) && !indexed.stdoutText.contains(password))
        #expect(!indexed.stderrText.contains("\r"), "progress is for terminals only")
        let cachePath = indexed.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(cachePath.hasPrefix(home + "/.cache/ocicred/index/sha256:"), "\(cachePath)")
        let attributes = try FileManager.default.attributesOfItem(atPath: cachePath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try Data(contentsOf: URL(fileURLWithPath: cachePath)) == Data(contentsOf: URL(fileURLWithPath: output)))

        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        #expect(json["version"] as? Int == 4)
        let layers = try #require(json["layers"] as? [[String: Any]])
        #expect(layers.count == 3)
        #expect(layers.allSatisfy { $0["entries"] == nil }, "the tree alone lists the entries")
        #expect(layers.map { $0["compression"] as? String } == ["gzip", "none", "gzip"])
        let treeArrays = try #require(json["tree"] as? [[Any]], "tree entries are arrays")
        let merged = treeArrays.map(Self.treeEntry)
        let tree = merged.map(\.entry)
        var treeByPath: [String: [String: Any]] = [:]
        for entry in tree { treeByPath[entry["path"] as? String ?? ""] = entry }

        let rootfs = try LayeredImage.unpackWithUmoci(
            registry: registry, password: password, reference: reference, directory: directory)
        let unpacked = LayeredImage.walk(rootfs)
        #expect(Set(treeByPath.keys) == Set(unpacked.keys))
        for (path, entry) in treeByPath {
            guard let real = unpacked[path] else { continue }
            var kind = entry["kind"] as? String ?? ""
            var size = (entry["size"] as? NSNumber)?.int64Value ?? -1
            if kind == "hardlink", let target = treeByPath[entry["linkName"] as? String ?? ""] {
                kind = target["kind"] as? String ?? ""
                size = (target["size"] as? NSNumber)?.int64Value ?? -1
            }
            #expect(kind == real.kind, "\(path)")
            if kind != "symlink" { #expect((entry["mode"] as? NSNumber)?.uint32Value == real.mode, "\(path) mode") }
            #expect(size == real.size, "\(path) size")
            if kind == "symlink" { #expect(entry["linkName"] as? String == real.linkTarget, "\(path) target") }
        }
        // The image's changesets, as umoci applied them.
        #expect(unpacked["etc/removed"] == nil && treeByPath["etc/removed"] == nil)
        #expect(treeByPath["opaque/old"] == nil && treeByPath["opaque/sub"] == nil && treeByPath["opaque/new"] != nil)
        #expect((treeByPath["etc/overwritten"]?["size"] as? NSNumber)?.intValue == 35)

        // A second run reuses the cached index.
        let again = try OcicredBinary.run(
            ["index", reference], home: home, extraEnvironment: environment, timeout: 60)
        #expect(again.status == 0 && again.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == cachePath)

        // An index cached (or pushed) by the version before, 3, whose layers also list their entries and whose
        // tree entries are objects, still serves: it is read, not rebuilt (a rebuild would write version 4).
        var previous = json
        previous["version"] = 3
        previous["tree"] = merged.map { ["layer": $0.layer, "entry": $0.entry] }
        previous["layers"] = layers.enumerated().map { number, layer in
            var layer = layer
            layer["entries"] = merged.filter { $0.layer == number }.map(\.entry)
            return layer
        }
        let previousBytes = try JSONSerialization.data(withJSONObject: previous, options: [.sortedKeys])
        try previousBytes.write(to: URL(fileURLWithPath: cachePath))
        let fromPrevious = try OcicredBinary.run(
            ["index", reference, "-o", directory.file("from-previous.json")], home: home,
            extraEnvironment: environment, timeout: 60)
        #expect(fromPrevious.status == 0, "\(fromPrevious)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: cachePath)) == previousBytes, "version 3 was rebuilt")
        // Read as the same index, now version 4.
        let rewritten = try Data(contentsOf: URL(fileURLWithPath: directory.file("from-previous.json")))
        #expect(rewritten == (try Data(contentsOf: URL(fileURLWithPath: output))))
    }

    /// A version-4 tree entry, `[layer, path, kind, mode, uid, gid, mtime, size, offset, linkName?, devMajor?,
    /// devMinor?, xattrs?]`, as the object version 3 wrote.
    static func treeEntry(_ fields: [Any]) -> (layer: Int, entry: [String: Any]) {
        let names = [
            "path", "kind", "mode", "uid", "gid", "mtime", "size", "offset", "linkName", "devMajor", "devMinor",
            "xattrs",
        ]
        var entry: [String: Any] = [:]
        for (name, value) in zip(names, fields.dropFirst()) where !(value is NSNull) { entry[name] = value }
        return ((fields.first as? Int) ?? -1, entry)
    }
}

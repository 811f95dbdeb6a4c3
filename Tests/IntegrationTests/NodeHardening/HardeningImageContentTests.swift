import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Image content cannot name its way out, through the built binary: a layer written by Python's tarfile with
/// entry names that climb above the root (`../x`, `a/../../x`, `..`, a hard link to `../../etc/passwd`) is pushed
/// to docker-registry; `ocicred index` warns about each and `ocicred mount` shows none of them, while names that
/// only look odd (`./a/../b`, `/abs`, `a//b/./c`) are cleaned and kept.
@Suite("hostile layer entry names, through the binary", .serialized)
struct HardeningImageContentTests {
    static let escaping = [
        "../escaped-parent", "../../../etc/escaped-etc", "inside/../../escaped-via-inside", "../", "hardlinked",
    ]

    @Test("entries whose names leave the root are skipped with a warning; odd but inner names are cleaned")
    func hostileNamesAreSkippedAndWarned() throws {
        let password = "pw-" + UUID().uuidString.prefix(6).lowercased()
        let registry = try RegistryFixture.start(username: "hostile", password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-hostile")
        defer { directory.remove() }
        let home = directory.file("home")
        let environment = try OcicredBinary.registryEnvironment(home: home)
        let image = try LayeredImage.build(in: directory, hostileNames: true)
        try image.push(to: registry, password: password, repository: "hostile/app", directory: directory)
        let login = try OcicredBinary.run(
            ["login", registry.host, "-u", "hostile", "--password-stdin"], home: home, stdin: password + "\n",
            extraEnvironment: environment)
        try #require(login.status == 0, "\(login)")
        let reference = "\(registry.host)/hostile/app:\(image.tag)"

        let indexed = try OcicredBinary.run(
            ["index", reference], home: home, extraEnvironment: environment, timeout: 120)
        try #require(indexed.status == 0, "\(indexed)")
        for name in Self.escaping {
            #expect(indexed.stderrText.contains(": \(name)\n"), "no warning for \(name): \(indexed.stderrText)")
        }

        let mountpoint = directory.file("mnt")
        let mount = try OcicredMount(
            image: reference, mountpoint: mountpoint, home: home, environment: environment)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(), "\(mount.log)")
        #expect(mount.log.contains("leaves the image's root"), "the mount warns too: \(mount.log)")
        let tree = LayeredImage.walk(mountpoint)
        try #require(tree["etc/overwritten"] != nil, "the ordinary layers are there")
        for path in tree.keys {
            #expect(!path.contains("escaped"), "an escaping entry is visible: \(path)")
        }
        #expect(tree["hardlinked"] == nil)
        #expect(try String(contentsOfFile: mountpoint + "/kept-after-clean", encoding: .utf8) == "clean names stay\n")
        #expect(FileManager.default.fileExists(atPath: mountpoint + "/absolute-kept"))
        #expect(FileManager.default.fileExists(atPath: mountpoint + "/dots/and/slashes/file"))
        // FileManager drops `.` and `..` from what it lists, so it cannot see an image entry named `..`; readdir(3)
        // can: every directory of the mount lists exactly one `.` and one `..`, its own.
        for directory in [""] + tree.filter({ $0.value.kind == "directory" }).keys.sorted() {
            let names = try Self.rawNames(mountpoint + "/" + directory)
            #expect(names.filter { $0 == ".." }.count == 1, "\(directory): \(names)")
            #expect(names.filter { $0 == "." }.count == 1, "\(directory): \(names)")
        }
    }

    /// Every name readdir(3) returns for `directory`, `.` and `..` included.
    static func rawNames(_ directory: String) throws -> [String] {
        let stream = try #require(opendir(directory), "opendir \(directory): \(String(cString: strerror(errno)))")
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            names.append(
                withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        return names
    }
}

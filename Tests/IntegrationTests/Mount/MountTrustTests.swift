import Foundation
import TestSupport
import Testing

/// What a lazy mount trusts, attacked through the built binary as root, with the real docker-registry, runc and
/// another local user (`nobody`): indexes pushed by someone who can only push to the repository are refused when
/// forged and read only when signed, pinned or opted into; a bundle is as private as `umoci unpack`'s; a plain
/// `--allow-other` mount lends nobody setuid or devices; teardown removes only what the mount made and follows no
/// link a container planted.
@Suite(.serialized)
struct MountTrustTests {
    /// The image's own bytes for a few files, one per layer that the forgeries below touch.
    static let expected: [String: String] = [
        "etc/overwritten": "version two, longer than the first\n",
        "secret/key": "not really\n",
        "home/app/motd": "lazily read from the image\n",
    ]

    /// The operator's opt-in to pushed indexes. Run against a binary from before it existed (which read every
    /// pushed index unasked), `OCICRED_TEST_BINARY_WITHOUT_TRUST=1` leaves the flag out, so the same forgeries
    /// show what such a binary does with them.
    static let optIn =
        ProcessInfo.processInfo.environment["OCICRED_TEST_BINARY_WITHOUT_TRUST"] == "1" ? [] : ["--trust-pushed-index"]

    /// The artifact digest `index --push` printed (`HOST/REPO@sha256:…`, the line after the cache path).
    static func artifact(in output: String) throws -> String {
        let line = try #require(output.split(separator: "\n").first { $0.contains("@sha256:") })
        return String(line.split(separator: "@")[1])
    }

    /// The image manifest's digest, from the index `ocicred index` cached (its first line of output).
    static func manifestDigest(cachedAt path: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(object["manifestDigest"] as? String)
    }

    /// Mounts with a cache of its own (so only the registry or the layers can supply the index), reads the
    /// expected files, unmounts; returns the log and what each read gave (nil: an error).
    static func mountAndRead(
        _ prepared: BundleTests.Prepared, name: String, arguments: [String], extraEnvironment: [String: String] = [:]
    ) throws -> (log: String, contents: [String: String?]) {
        var environment = prepared.environment.merging(extraEnvironment) { $1 }
        environment["XDG_CACHE_HOME"] = prepared.directory.file("cache-" + name)
        let mountpoint = prepared.directory.file("mnt-" + name)
        let mount = try OcicredMount(
            image: prepared.reference, mountpoint: mountpoint, home: prepared.home,
            arguments: ["--span", "65536"] + arguments, environment: environment)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(), "\(name): \(mount.log.suffix(3000))")
        var contents: [String: String?] = [:]
        for path in expected.keys {
            contents[path] = (try? Data(contentsOf: URL(fileURLWithPath: mountpoint + "/" + path)))
                .map { String(decoding: $0, as: UTF8.self) }
        }
        return (mount.log, contents)
    }

    // MARK: - Pushed indexes

    @Test func forgedPushedIndexesAreRefusedAndTheMountServesOnlyTheImagesBytes() throws {
        let prepared = try BundleTests.prepare()
        defer { prepared.stop() }
        // Another image's layers in the same repository, and its index: what a forger can point at.
        let otherDirectory = try TemporaryDirectory(prefix: "ocicred-other")
        defer { otherDirectory.remove() }
        let other = try LayeredImage.build(in: otherDirectory, largeFileMiB: 1)
        try other.push(
            toHost: prepared.registry.host, username: "runner", password: prepared.password,
            repository: "team/runnable", directory: prepared.directory)
        let otherIndex = prepared.directory.file("other-index.json")
        let indexedOther = try OcicredBinary.run(
            ["index", prepared.reference, "--span", "65536", "-o", otherIndex], home: prepared.home,
            extraEnvironment: prepared.environment, timeout: 180)
        try #require(indexedOther.status == 0, "\(indexedOther)")
        try prepared.image.push(
            to: prepared.registry, password: prepared.password, repository: "team/runnable",
            directory: prepared.directory)
        let pushed = try OcicredBinary.run(
            ["index", prepared.reference, "--span", "65536", "--push"], home: prepared.home,
            extraEnvironment: prepared.environment, timeout: 180)
        try #require(pushed.status == 0, "\(pushed)")
        let subject = try Self.manifestDigest(cachedAt: String(pushed.stdoutText.split(separator: "\n")[0]))
        let pusher = RepositoryPusher(
            registry: prepared.registry, password: prepared.password, repository: "team/runnable")

        // The genuine pushed index, opted into, serves the image.
        let genuine = try Self.mountAndRead(prepared, name: "genuine", arguments: Self.optIn)
        #expect(genuine.log.contains("index from the registry"), "\(genuine.log)")
        #expect(genuine.contents == Self.expected.mapValues { Optional($0) })

        // Where a chunk path built from "sha256:../../../../victim" lands (once a directory named "sha256:.."
        // exists in the chunk cache, which the forged name's own first component makes): files a mount must
        // never touch.
        let victimCache = "cache-traversal"
        let victim = prepared.directory.file(victimCache + "/victim")
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: prepared.directory.file(victimCache + "/ocicred/chunks/sha256:.."),
            withIntermediateDirectories: true)
        for span in 0..<64 { try Data("precious \(span)\n".utf8).write(to: URL(fileURLWithPath: victim + "/\(span)")) }

        let forgeries: [(name: String, mutation: String)] = [
            ("traversal", #"doc["layers"][2]["digest"] = "sha256:../../../../victim""#),
            ("another image's layer", #"doc["layers"][3] = other["layers"][2]"#),
            ("another layer's bytes", #"doc["layers"][2] = doc["layers"][1]"#),
            ("malformed digest", #"doc["layers"][1]["digest"] = "sha256:" + "A" * 64"#),
            (
                "offsets out of range",
                #"doc["tree"] = [e[:8] + [10**12] + e[9:] if e[1] == "etc/overwritten" else e for e in doc["tree"]]"#
            ),
            ("sizes out of range", #"doc["layers"][2]["uncompressedSize"] = 10**15"#),
            (
                "bytes swapped between spans",
                #"s = doc["layers"][1]["spans"]; s[0]["sha256"], s[1]["sha256"], s[0]["checkpoint"], s[1]["checkpoint"] = s[1]["sha256"], s[0]["sha256"], s[1]["checkpoint"], s[0]["checkpoint"]"#
            ),
            ("path traversal in the tree", #"doc["tree"].append([3, "../../../escaped", "file", 420, 0, 0, 0, 1, 0])"#),
        ]
        for forgery in forgeries {
            _ = try pusher.forge(kind: "index", subject: subject, mutation: forgery.mutation, otherFile: otherIndex)
            let name = forgery.name == "traversal" ? "traversal" : forgery.name.replacingOccurrences(of: " ", with: "-")
            let result = try Self.mountAndRead(prepared, name: name, arguments: Self.optIn)
            #expect(result.log.contains("ignoring the index pushed to the registry"), "\(forgery.name): \(result.log)")
            #expect(result.log.contains("refused"), "\(forgery.name): \(result.log)")
            #expect(result.log.contains("building the index"), "\(forgery.name): \(result.log)")
            #expect(result.contents == Self.expected.mapValues { Optional($0) }, "\(forgery.name)")
        }
        for span in 0..<64 {
            let text = try? String(contentsOfFile: victim + "/\(span)", encoding: .utf8)
            #expect(text == "precious \(span)\n", "a file outside the chunk cache was touched")
        }
    }

    @Test func aSignedIndexIsReadAndAnUnsignedOrWronglySignedOneIsBuiltInstead() throws {
        let prepared = try BundleTests.prepare()
        defer { prepared.stop() }
        let keys = try TemporaryDirectory(prefix: "ocicred-keys")
        defer { keys.remove() }
        let (key, pub) = try RepositoryPusher.makeKeyPair("operator", in: keys)
        let (otherKey, otherPub) = try RepositoryPusher.makeKeyPair("stranger", in: keys)
        let pusher = RepositoryPusher(
            registry: prepared.registry, password: prepared.password, repository: "team/runnable")

        let signed = try OcicredBinary.run(
            ["index", prepared.reference, "--span", "65536", "--push", "--sign-key", key], home: prepared.home,
            extraEnvironment: prepared.environment, timeout: 180)
        try #require(signed.status == 0, "\(signed)")
        let artifact = try Self.artifact(in: signed.stdoutText)
        let signature = "team/runnable:" + artifact.replacingOccurrences(of: ":", with: "-") + ".sig"
        #expect(signed.stdoutText.contains(signature), "the signature's reference is printed: \(signed.stdoutText)")
        // cosign's format, checked by an independent verifier with the public key alone.
        #expect(try pusher.cosignVerify(digest: artifact, publicKeyFile: pub) == 1)
        #expect(try pusher.cosignVerify(digest: artifact, publicKeyFile: otherPub) == 0)

        let trusted = try Self.mountAndRead(prepared, name: "signed", arguments: ["--index-key", pub])
        #expect(trusted.log.contains("index from the registry"), "\(trusted.log)")
        #expect(trusted.log.contains("signed by a configured key"), "\(trusted.log)")
        #expect(trusted.contents == Self.expected.mapValues { Optional($0) })

        let stranger = try Self.mountAndRead(prepared, name: "wrong-key", arguments: ["--index-key", otherPub])
        #expect(!stranger.log.contains("index from the registry"), "\(stranger.log)")
        #expect(stranger.log.contains("building the index"), "\(stranger.log)")
        #expect(stranger.contents == Self.expected.mapValues { Optional($0) })

        let unconfigured = try Self.mountAndRead(prepared, name: "no-trust", arguments: [])
        let building = unconfigured.log.split(separator: "\n").filter { $0.contains("building the index") }
        #expect(building.count == 1, "one line says the index is built: \(unconfigured.log)")
        #expect(unconfigured.log.contains("--index-key"), "and how to trust a pushed one")
        #expect(!unconfigured.log.contains("index from the registry"))

        // A newer artifact signed by the stranger, and one signed with the operator's key by another signer (the
        // documented format, made by a different implementation): the stranger's is passed over, the other read.
        let subject = try Self.manifestDigest(cachedAt: String(signed.stdoutText.split(separator: "\n")[0]))
        let strangers = try pusher.forge(kind: "index", subject: subject, mutation: "doc['reference'] = 'stranger'")
        try pusher.cosignSign(digest: strangers, keyFile: otherKey)
        let byStranger = try Self.mountAndRead(prepared, name: "newer-stranger", arguments: ["--index-key", pub])
        #expect(byStranger.log.contains("artifact: \(artifact)"), "the older signed one is read: \(byStranger.log)")
        let cosigned = try pusher.forge(kind: "index", subject: subject, mutation: "doc['reference'] = 'cosigned'")
        try pusher.cosignSign(digest: cosigned, keyFile: key)
        let byCosign = try Self.mountAndRead(prepared, name: "cosigned", arguments: ["--index-key", pub])
        #expect(byCosign.log.contains("artifact: \(cosigned)"), "\(byCosign.log)")
        #expect(byCosign.contents == Self.expected.mapValues { Optional($0) })

        // A forged index signed with the operator's key is still checked against the manifest.
        let forged = try pusher.forge(
            kind: "index", subject: subject, mutation: #"doc["layers"][1]["compressedSize"] += 1"#)
        try pusher.cosignSign(digest: forged, keyFile: key)
        let signedForgery = try Self.mountAndRead(prepared, name: "signed-forgery", arguments: ["--index-key", pub])
        #expect(signedForgery.log.contains("refused"), "\(signedForgery.log)")
        #expect(signedForgery.contents == Self.expected.mapValues { Optional($0) })

        // Pinned by digest: exactly that artifact, signed or not.
        let pinned = try Self.mountAndRead(prepared, name: "pinned", arguments: ["--index", strangers])
        #expect(
            pinned.log.contains("pinned by digest") && pinned.log.contains("artifact: \(strangers)"), "\(pinned.log)")
        let badPin = try OcicredBinary.run(
            ["mount", prepared.reference, prepared.directory.file("unused"), "--index", "sha256:../../x"],
            home: prepared.home, extraEnvironment: prepared.environment)
        #expect(badPin.status != 0 && badPin.stderrText.contains("--index"), "\(badPin)")

        // A profile: signed on the first mount, read on the next; an unsigned forgery pushed later is passed over.
        let recording = try prepared.mountBundle(
            "recording", ["--record-seconds", "2", "--push-profile", "--sign-key", key, "--index-key", pub])
        try Runc.adjust(bundle: recording.mountpoint, arguments: ["/bin/sh", "-c", "cat /home/app/motd"], root: true)
        _ = try prepared.runc.run(bundle: recording.mountpoint, id: "recording")
        let deadline = Date() + 30
        while !recording.log.contains("start-up profile signed") && Date() < deadline { usleep(100_000) }
        #expect(recording.log.contains("start-up profile signed"), "\(recording.log.suffix(2000))")
        recording.stop()
        _ = try pusher.forge(
            kind: "profile", subject: subject,
            mutation: "doc['spans'].append({'layer': 'sha256:' + 'f' * 64, 'span': 0})")
        var environment = prepared.environment
        environment["XDG_CACHE_HOME"] = prepared.directory.file("cache-profile")
        let replay = try OcicredMount(
            image: prepared.reference, mountpoint: prepared.directory.file("replay"), home: prepared.home,
            arguments: ["--span", "65536", "--index-key", pub], environment: environment)
        defer { replay.stop() }
        try #require(replay.waitUntilMounted(), "\(replay.log)")
        let until = Date() + 30
        while !replay.log.contains("start-up profile") && Date() < until { usleep(100_000) }
        #expect(replay.log.contains("start-up profile from the registry"), "\(replay.log)")
        let opted = try Self.mountAndRead(prepared, name: "opted-profile", arguments: ["--trust-pushed-index"])
        #expect(opted.log.contains("ignoring the start-up profile"), "the newest, forged, is refused: \(opted.log)")
    }

    @Test func theConfigTrustsPerRepositoryOrImageAndConfigValidateChecksIt() throws {
        let prepared = try BundleTests.prepare()
        defer { prepared.stop() }
        let keys = try TemporaryDirectory(prefix: "ocicred-keys")
        defer { keys.remove() }
        let (key, pub) = try RepositoryPusher.makeKeyPair("operator", in: keys)
        let signed = try OcicredBinary.run(
            ["index", prepared.reference, "--span", "65536", "--push", "--sign-key", key], home: prepared.home,
            extraEnvironment: prepared.environment, timeout: 180)
        try #require(signed.status == 0, "\(signed)")
        let artifact = try Self.artifact(in: signed.stdoutText)
        let config = prepared.directory.file("config.yaml")
        let environment = ["OCICRED_CONFIG": config]

        try "mount:\n  trust:\n    - repository: \"\(prepared.registry.host)/team/*\"\n      indexKeys: [\(pub)]\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let byKey = try Self.mountAndRead(prepared, name: "config-key", arguments: [], extraEnvironment: environment)
        #expect(byKey.log.contains("signed by a configured key"), "\(byKey.log)")

        try "mount:\n  trust:\n    - image: \(prepared.reference)\n      index: \"\(artifact)\"\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let pinned = try Self.mountAndRead(prepared, name: "config-pin", arguments: [], extraEnvironment: environment)
        #expect(pinned.log.contains("pinned by digest"), "\(pinned.log)")

        try "mount:\n  trust:\n    - repository: \"other.example/*\"\n      trustPushed: true\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let elsewhere = try Self.mountAndRead(
            prepared, name: "config-other", arguments: [], extraEnvironment: environment)
        #expect(elsewhere.log.contains("building the index"), "a rule for another repository: \(elsewhere.log)")

        try "mount:\n  trust:\n    - repository: \"a/*\"\n      indexKeys: [relative.pub]\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let invalid = try OcicredBinary.run(["config", "validate", config], home: prepared.home)
        #expect(invalid.status != 0, "\(invalid)")
        #expect(invalid.stderrText.contains("config.yaml:4:") && invalid.stderrText.contains("absolute"), "\(invalid)")
    }

    // MARK: - Other local users

    /// Runs `arguments` as `nobody` (65534) with no supplementary groups. Through a shell: setpriv opens the
    /// program it is given before it drops root, so only a program the shell execs as nobody shows what nobody
    /// may run.
    static func asNobody(_ arguments: [String]) throws -> ProcessResult {
        try FixtureError.requirePrograms(["setpriv": "util-linux"])
        return try ProcessRunner.run(
            "setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c", #"exec "$0" "$@""#]
                + arguments, timeout: 30)
    }

    /// The test directory is private (0700); opened to traversal so that only the bundle's own mode stands
    /// between another user and the image's files.
    static func openToOthers(_ prepared: BundleTests.Prepared) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: prepared.directory.path)
    }

    @Test func aBundleIsPrivateToItsOwnerAndSetuidWorksOnlyInsideTheContainer() throws {
        let prepared = try BundleTests.prepare(privilegeProbes: true)
        defer { prepared.stop() }
        try Self.openToOthers(prepared)
        let mount = try prepared.mountBundle("bundle")
        defer { mount.stop() }
        let bundle = mount.mountpoint
        let mode = try FileManager.default.attributesOfItem(atPath: bundle)[.posixPermissions] as? Int
        #expect(mode == 0o700, "DIR is 0700, as umoci makes it")
        for path in ["/rootfs/bin/euid", "/lower/bin/euid", "/rootfs/etc/passwd", "/upper", "/work", "/config.json"] {
            let listed = try Self.asNobody(["/bin/ls", "-l", bundle + path])
            #expect(listed.status != 0 && listed.stderrText.contains("Permission denied"), "\(path): \(listed)")
        }
        let run = try Self.asNobody([bundle + "/rootfs/bin/euid"])
        #expect(run.status != 0 && !run.stdoutText.contains("euid=0"), "nobody runs the image's setuid file: \(run)")

        // Inside the container, as its user app (1000), setuid still makes root — where the runtime allows it at
        // all: umoci's configuration (and so the bundle's) sets noNewPrivileges, podman's default does not.
        try Runc.adjust(bundle: bundle, arguments: ["/bin/euid"])
        try Self.allowNewPrivileges(bundle: bundle)
        let inside = try prepared.runc.run(bundle: bundle, id: "setuid")
        #expect(inside.status == 0 && inside.stdoutText == "euid=0\n", "\(inside)")
    }

    static func allowNewPrivileges(bundle: String) throws {
        let url = URL(fileURLWithPath: bundle + "/config.json")
        var spec = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var process = try #require(spec["process"] as? [String: Any])
        process["noNewPrivileges"] = false
        spec["process"] = process
        try JSONSerialization.data(withJSONObject: spec).write(to: url)
    }

    @Test func aPlainMountForOtherUsersLendsThemNoSetuidAndNoDevice() throws {
        let prepared = try BundleTests.prepare(privilegeProbes: true)
        defer { prepared.stop() }
        try Self.openToOthers(prepared)
        let mount = try OcicredMount(
            image: prepared.reference, mountpoint: prepared.directory.file("shared"), home: prepared.home,
            arguments: ["--allow-other", "--span", "65536"], environment: prepared.environment)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(), "\(mount.log)")
        let run = try Self.asNobody([mount.mountpoint + "/bin/euid"])
        #expect(run.status == 0 && run.stdoutText == "euid=65534\n", "setuid is ignored on the mount: \(run)")
        let device = try Self.asNobody(["/bin/dd", "if=" + mount.mountpoint + "/srv/devnode", "count=1"])
        #expect(device.status != 0 && device.stderrText.contains("Permission denied"), "nodev: \(device)")
        let other = try Self.asNobody(["/bin/cat", mount.mountpoint + "/home/app/motd"])
        #expect(other.status != 0, "home/app is 0750 app:app in the image, and the mount keeps modes: \(other)")
        let busybox = try Self.asNobody(["/bin/dd", "if=" + mount.mountpoint + "/bin/busybox", "of=/dev/null"])
        #expect(busybox.status == 0, "yet the mount itself is open to others, as --allow-other asks: \(busybox)")
    }

    // MARK: - Teardown

    @Test func aWorkDirectoryThatWasThereIsKeptAndAFullOneRefused() throws {
        let prepared = try BundleTests.prepare()
        defer { prepared.stop() }
        let full = prepared.directory.file("full")
        try FileManager.default.createDirectory(atPath: full + "/work", withIntermediateDirectories: true)
        try Data("mine\n".utf8).write(to: URL(fileURLWithPath: full + "/work/keep.txt"))
        // Should the mount not refuse (a regression), its process is killed at the timeout; take down what it
        // mounted, so that no mount outlives the test.
        defer {
            for path in [full + "/rootfs", full + "/lower"] {
                while OcicredMount.mountType(path) != nil && umount2(path, Int32(MNT_DETACH)) == 0 {}
            }
        }
        let refused = try OcicredBinary.run(
            ["mount", prepared.reference, full, "--bundle"], home: prepared.home,
            extraEnvironment: prepared.environment, timeout: 120)
        #expect(refused.status != 0, "\(refused)")
        #expect(refused.stderrText.contains("\(full)/work is not empty"), "\(refused.stderrText)")
        #expect((try? String(contentsOfFile: full + "/work/keep.txt", encoding: .utf8)) == "mine\n")

        // An empty work directory made by the user is used, and is still there afterwards; upper, which the
        // mount made, is gone.
        let empty = prepared.directory.file("empty-work")
        try FileManager.default.createDirectory(atPath: empty + "/work", withIntermediateDirectories: true)
        let mount = try prepared.mountBundle("empty-work")
        #expect(FileManager.default.fileExists(atPath: empty + "/work/work"), "overlayfs works in it")
        #expect(try OcicredBinary.run(["unmount", empty], home: prepared.home).status == 0)
        #expect(mount.waitForExit() == 0, "\(mount.log)")
        var isDirectory: ObjCBool = false
        #expect(
            FileManager.default.fileExists(atPath: empty + "/work", isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: empty + "/work")) == [])
        #expect(!FileManager.default.fileExists(atPath: empty + "/upper"))
    }

    @Test func teardownFollowsNoLinkPlantedOrSwappedInUpper() throws {
        let prepared = try BundleTests.prepare()
        defer { prepared.stop() }
        let victim = prepared.directory.file("victim")
        try FileManager.default.createDirectory(atPath: victim + "/inner", withIntermediateDirectories: true)
        for number in 0..<50 {
            try Data("keep \(number)\n".utf8).write(to: URL(fileURLWithPath: victim + "/file\(number)"))
            try Data("keep \(number)\n".utf8).write(to: URL(fileURLWithPath: victim + "/inner/file\(number)"))
        }
        let victimMode = try FileManager.default.attributesOfItem(atPath: victim)[.posixPermissions] as? Int
        let mount = try prepared.mountBundle("bundle")
        defer { mount.stop() }
        let upper = mount.mountpoint + "/upper"
        // What a container leaves: links to the host's files, and directories it swaps for such links while
        // the bundle is taken apart.
        try FileManager.default.createSymbolicLink(
            atPath: mount.mountpoint + "/rootfs/escape", withDestinationPath: victim)
        for number in 0..<40 {
            let planted = mount.mountpoint + "/rootfs/planted\(number)"
            try FileManager.default.createDirectory(atPath: planted + "/deeper", withIntermediateDirectories: true)
            for file in 0..<20 { try Data("x".utf8).write(to: URL(fileURLWithPath: planted + "/deeper/f\(file)")) }
        }
        let swapper = Process()
        swapper.executableURL = URL(fileURLWithPath: ProcessRunner.resolve("python3"))
        swapper.arguments = [
            "-c",
            """
            import os, sys, time
            upper, victim = sys.argv[1], sys.argv[2]
            end = time.time() + 20
            while time.time() < end and os.path.isdir(upper):
                for n in range(40):
                    d = os.path.join(upper, "planted%d" % n)
                    try:
                        os.rename(d, d + ".moved"); os.symlink(victim, d)
                        os.unlink(d); os.rename(d + ".moved", d)
                    except OSError:
                        pass
            """,
            upper, victim,
        ]
        try swapper.run()
        defer { if swapper.isRunning { swapper.terminate() } }
        usleep(200_000)
        #expect(try OcicredBinary.run(["unmount", mount.mountpoint], home: prepared.home).status == 0)
        #expect(mount.waitForExit(timeout: 60) == 0, "\(mount.log)")
        swapper.terminate()
        swapper.waitUntilExit()
        for number in 0..<50 {
            #expect((try? String(contentsOfFile: victim + "/file\(number)", encoding: .utf8)) == "keep \(number)\n")
            #expect(
                (try? String(contentsOfFile: victim + "/inner/file\(number)", encoding: .utf8)) == "keep \(number)\n")
        }
        let mode = try FileManager.default.attributesOfItem(atPath: victim)[.posixPermissions] as? Int
        #expect(mode == victimMode, "the victim's mode is untouched")
    }
}

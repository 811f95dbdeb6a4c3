import Crypto
import Foundation
import TestSupport
import Testing

/// `ocicred mount IMAGE DIR --bundle` as a user runs it, with real runtimes: runc runs the bundle of a four-layer
/// image (whiteouts, an opaque directory, hard links, setuid, symlinks) and sees what it sees in `umoci unpack`'s
/// bundle of the same image; the config.json matches umoci's on process args, env, cwd, user and annotations;
/// writes land in DIR/upper, never in the image; `ocicred unmount` refuses while a container runs and never
/// hangs; `podman run --rootfs` prints what runc prints; a start-up profile recorded on the first start leaves
/// fewer on-demand fetches for the second; and a container keeps reading past 30-second token expiries.
///
/// The machine's quirks (no cgroup mount, no user namespace for runc; `--runtime runc` and explicit ulimits for
/// podman) are applied to both bundles by the tests (`Runc.adjust`), never by `--bundle`.
@Suite(.serialized)
struct BundleTests {
    /// The pushed image (`PushedImage`, shared with MountTests) and runc.
    @dynamicMemberLookup
    struct Prepared {
        let pushed: PushedImage
        let runc: Runc

        subscript<T>(dynamicMember keyPath: KeyPath<PushedImage, T>) -> T { pushed[keyPath: keyPath] }

        func stop() { pushed.stop() }

        /// Starts `ocicred mount REFERENCE DIR --bundle ARGUMENTS` and waits for it.
        func mountBundle(_ name: String, _ arguments: [String] = []) throws -> OcicredMount {
            let mount = try OcicredMount(
                image: pushed.reference, mountpoint: pushed.directory.file(name), home: pushed.home,
                arguments: ["--bundle", "--span", "65536"] + arguments, environment: pushed.environment)
            let mounted = mount.waitUntilMounted()
            if !mounted { mount.stop() }
            try #require(mounted, "ocicred mount --bundle: \(mount.log.suffix(3000))")
            return mount
        }

        /// `umoci unpack` of the same image into a bundle of its own; returns the bundle directory.
        func umociBundle() throws -> String {
            let rootfs = try pushed.image.unpackLayoutWithUmoci(directory: pushed.directory)
            return (rootfs as NSString).deletingLastPathComponent
        }
    }

    static func prepare(largeFileMiB: Int = 0, privilegeProbes: Bool = false) throws -> Prepared {
        let pushed = try PushedImage.prepare(
            username: "runner", repository: "team/runnable", prefix: "ocicred-bundle", largeFileMiB: largeFileMiB,
            runnable: true, privilegeProbes: privilegeProbes, logLevel: "info")
        do {
            return Prepared(pushed: pushed, runc: try Runc(in: pushed.directory))
        } catch {
            pushed.stop()
            throw error
        }
    }

    static func config(_ bundle: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: bundle + "/config.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The JSON of `value`, keys sorted, for comparing parts of two configs.
    static func canonical(_ value: Any?) throws -> String {
        guard let value else { return "null" }
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    /// Every path of the root filesystem the container sees (its own mounts left out), with type, mode, owner
    /// and size, and the link count and content hash of regular files: what `find` and `stat` in busybox show.
    static let treeScript = """
        cd / && find . -xdev ! -path ./proc ! -path ./sys ! -path ./dev ! -path ./cache | sort | while read -r p; do
          if [ -f "$p" ] && [ ! -L "$p" ]; then
            echo "$(stat -c '%n %A %u:%g %s %h' "$p") $(sha256sum < "$p" | head -c 16)"
          else
            stat -c '%n %A %u:%g' "$p"
            if [ -L "$p" ]; then echo "  -> $(readlink "$p")"; fi
          fi
        done
        """

    // MARK: - runc, against umoci unpack

    @Test func runcSeesTheSameTreeAndRunsTheSameCommandAsFromUmocisBundleAndWritesStayInUpper() throws {
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        let reference = try prepared.umociBundle()
        let mount = try prepared.mountBundle("bundle")
        defer { mount.stop() }
        let bundle = mount.mountpoint

        // The config as umoci writes it, field by field.
        let ours = try Self.config(bundle)
        let theirs = try Self.config(reference)
        let (process, umociProcess) = (ours["process"] as? [String: Any], theirs["process"] as? [String: Any])
        for field in ["args", "env", "cwd", "user"] {
            let (mine, umoci) = (try Self.canonical(process?[field]), try Self.canonical(umociProcess?[field]))
            #expect(mine == umoci, "process.\(field)")
        }
        #expect(try Self.canonical(ours["annotations"]) == Self.canonical(theirs["annotations"]))
        #expect(try Self.canonical(ours["linux"]) == Self.canonical(theirs["linux"]), "namespaces and paths")
        #expect(
            try Self.canonical(ours["mounts"]) == Self.canonical(theirs["mounts"]), "the mounts umoci writes")
        #expect((process?["user"] as? [String: Any])?["uid"] as? Int == 1000, "User app, resolved lazily")
        #expect(OcicredMount.mountType(bundle + "/rootfs") == "overlay")

        // The image's default command, run by runc from both bundles.
        try Runc.adjust(bundle: bundle)
        try Runc.adjust(bundle: reference)
        let lazy = try prepared.runc.run(bundle: bundle, id: "lazy-default")
        let unpacked = try prepared.runc.run(bundle: reference, id: "umoci-default")
        try #require(unpacked.status == 0, "runc on umoci's bundle: \(unpacked)")
        #expect(lazy.status == 0, "\(lazy)\n\(mount.log.suffix(2000))")
        #expect(lazy.stdoutText == unpacked.stdoutText)
        #expect(
            lazy.stdoutText.hasPrefix(
                "hello from 1000:1000 groups 1000 1001 in /home/app home /home/app\nlazily read from the image\n"),
            "\(lazy.stdoutText)")

        // The whole tree, as root inside the container.
        try Runc.adjust(bundle: bundle, arguments: ["/bin/sh", "-c", Self.treeScript], root: true)
        try Runc.adjust(bundle: reference, arguments: ["/bin/sh", "-c", Self.treeScript], root: true)
        let lazyTree = try prepared.runc.run(bundle: bundle, id: "lazy-tree")
        let unpackedTree = try prepared.runc.run(bundle: reference, id: "umoci-tree")
        try #require(unpackedTree.status == 0, "\(unpackedTree)")
        #expect(lazyTree.status == 0, "\(lazyTree.stderrText)")
        let lazyLines = lazyTree.stdoutText.split(separator: "\n")
        let unpackedLines = unpackedTree.stdoutText.split(separator: "\n")
        #expect(
            lazyLines.count > 60 && lazyLines == unpackedLines, "\(Set(lazyLines).symmetricDifference(unpackedLines))")
        for expected in ["./usr/bin/tool -rwsr-xr-x", "./data/hardlink -rw-r--r-- 0:0 ", "  -> /usr/bin/tool"] {
            #expect(lazyTree.stdoutText.contains(expected), "\(expected)")
        }
        #expect(!lazyTree.stdoutText.contains("./etc/removed") && !lazyTree.stdoutText.contains("./opaque/old"))

        // Writes: a new file, a changed one, a removed one, a new directory — all in DIR/upper.
        let writes = "echo new > /etc/newfile && echo changed > /etc/overwritten && rm /usr/lib/text.txt && mkdir /made"
        try Runc.adjust(bundle: bundle, arguments: ["/bin/sh", "-c", writes], root: true)
        let written = try prepared.runc.run(bundle: bundle, id: "lazy-writes")
        #expect(written.status == 0, "\(written)")
        let upper = bundle + "/upper"
        #expect(try String(contentsOfFile: upper + "/etc/newfile", encoding: .utf8) == "new\n")
        #expect(try String(contentsOfFile: upper + "/etc/overwritten", encoding: .utf8) == "changed\n")
        var whiteout = stat()
        #expect(lstat(upper + "/usr/lib/text.txt", &whiteout) == 0 && whiteout.st_mode & S_IFMT == S_IFCHR)
        #expect(FileManager.default.fileExists(atPath: upper + "/made"))
        #expect(
            try String(contentsOfFile: bundle + "/lower/etc/overwritten", encoding: .utf8)
                == "version two, longer than the first\n", "the image is untouched")
        #expect(FileManager.default.fileExists(atPath: bundle + "/lower/usr/lib/text.txt"))
        #expect(!FileManager.default.fileExists(atPath: bundle + "/lower/etc/newfile"))

        // Taken apart top down; without --keep-upper the writes go with it.
        let unmount = try OcicredBinary.run(["unmount", bundle], home: prepared.home, timeout: 30)
        #expect(unmount.status == 0, "\(unmount)")
        #expect(mount.waitForExit() == 0, "\(mount.log.suffix(2000))")
        #expect(OcicredMount.mountType(bundle + "/rootfs") == nil && OcicredMount.mountType(bundle + "/lower") == nil)
        #expect(
            !FileManager.default.fileExists(atPath: upper)
                && !FileManager.default.fileExists(atPath: bundle + "/config.json"))
    }

    /// The rootless form (what a user who is not root gets, here forced with id maps) against
    /// `umoci unpack --rootless`: the same user namespace maps, namespaces, bind mounts and process.
    @Test func theRootlessBundleIsUmocisRootlessOne() throws {
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        let rootfs = try prepared.image.unpackLayoutWithUmoci(directory: prepared.directory, rootless: true)
        let reference = (rootfs as NSString).deletingLastPathComponent
        let mount = try prepared.mountBundle(
            "bundle", ["--uid-map", "0:\(getuid()):1", "--gid-map", "0:\(getgid()):1"])
        defer { mount.stop() }
        let ours = try Self.config(mount.mountpoint)
        let theirs = try Self.config(reference)
        for field in ["linux", "mounts", "annotations"] {
            #expect(try Self.canonical(ours[field]) == Self.canonical(theirs[field]), "\(field)")
        }
        let (process, umociProcess) = (ours["process"] as? [String: Any], theirs["process"] as? [String: Any])
        for field in ["args", "env", "cwd", "user", "capabilities", "rlimits"] {
            let (mine, umoci) = (try Self.canonical(process?[field]), try Self.canonical(umociProcess?[field]))
            #expect(mine == umoci, "process.\(field)")
        }
        #expect((ours["linux"] as? [String: Any])?["uidMappings"] != nil)
    }

    // MARK: - Unmounting under a running container

    @Test func unmountUnderARunningContainerIsRefusedClearlyAndNeverHangs() throws {
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        let mount = try prepared.mountBundle("bundle", ["--keep-upper"])
        defer { mount.stop() }
        let bundle = mount.mountpoint
        try Runc.adjust(bundle: bundle, arguments: ["/bin/sh", "-c", "echo kept > /tmp/mark; exec sleep 120"])
        try prepared.runc.start(bundle: bundle, id: "busy")
        defer { prepared.runc.remove("busy") }
        try #require(prepared.runc.isRunning("busy"))

        let started = Date()
        let refused = try OcicredBinary.run(["unmount", bundle], home: prepared.home, timeout: 30)
        #expect(refused.status == 1)
        #expect(refused.stderrText.contains("still in use by pid"), "\(refused.stderrText)")
        #expect(refused.stderrText.contains("stop the container first"), "\(refused.stderrText)")
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(OcicredMount.mountType(bundle + "/rootfs") == "overlay" && OcicredMount.isMounted(bundle + "/lower"))

        // SIGTERM is refused the same way: the mount keeps serving the container.
        mount.signal(SIGTERM)
        #expect(mount.waitForExit(timeout: 3) == nil, "the mount must not go away under the container")
        #expect(mount.log.contains("not unmounting"), "\(mount.log.suffix(2000))")
        #expect(prepared.runc.isRunning("busy"))

        prepared.runc.remove("busy")
        let unmount = try OcicredBinary.run(["unmount", bundle], home: prepared.home, timeout: 30)
        #expect(unmount.status == 0, "\(unmount)")
        #expect(mount.waitForExit() == 0, "\(mount.log.suffix(2000))")
        #expect(OcicredMount.mountType(bundle + "/rootfs") == nil && OcicredMount.mountType(bundle + "/lower") == nil)
        #expect(
            try String(contentsOfFile: bundle + "/upper/tmp/mark", encoding: .utf8) == "kept\n",
            "--keep-upper keeps the container's writes")
    }

    // MARK: - podman

    @Test func podmanRunWithTheRootfsPrintsWhatRuncPrints() throws {
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:])
        defer { sandbox.remove() }
        let mount = try prepared.mountBundle("bundle")
        defer { mount.stop() }
        let bundle = mount.mountpoint

        let printed = try OcicredBinary.run(["podman-args", "-0", bundle], home: prepared.home)
        try #require(printed.status == 0, "\(printed)")
        let arguments = printed.stdoutText.split(separator: "\0", omittingEmptySubsequences: false).dropLast()
            .map(String.init)
        #expect(Array(arguments.prefix(6)) == ["--user", "1000:1000", "--group-add", "1001", "--workdir", "/home/app"])
        #expect(arguments.contains { $0.hasPrefix("/") && $0.hasSuffix("/bundle/rootfs:O") })
        let quoted = try OcicredBinary.run(["podman-args", bundle], home: prepared.home)
        #expect(quoted.stdoutText.contains("'echo \"$GREETING from"), "\(quoted.stdoutText)")

        // This machine's podman needs runc and explicit limits (issue 14); the rest is the README's command.
        let podman = try sandbox.run(
            "podman",
            ["run", "--rm", "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
                + arguments, timeout: 180)
        try Runc.adjust(bundle: bundle)
        let runc = try prepared.runc.run(bundle: bundle, id: "runc-default")
        try #require(runc.status == 0, "\(runc)")
        #expect(podman.status == 0, "\(podman)")
        #expect(podman.stdoutText == runc.stdoutText)
        #expect(!FileManager.default.fileExists(atPath: bundle + "/upper/home"), "podman's :O overlay took the writes")
    }

    // MARK: - Start-up profiles

    /// Range GETs of the image's blobs in the registry's access log.
    static func blobFetches(_ registry: RegistryFixture) -> Int {
        registry.log.split(separator: "\n").filter {
            $0.contains("response completed") && $0.contains("http.request.method=GET")
                && $0.contains("/team/runnable/blobs/sha256:") && $0.contains("http.response.status=206")
        }.count
    }

    @Test func aProfileRecordedOnTheFirstStartLeavesFewerOnDemandFetchesForTheSecond() throws {
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        let command = "cat /usr/lib/big.bin /usr/lib/mixed.txt /usr/lib/big2.bin /usr/bin/tool | sha256sum"

        // First start: record until unmount, push the profile beside the image, signed by the operator's key.
        let keys = try TemporaryDirectory(prefix: "ocicred-keys")
        defer { keys.remove() }
        let (key, pub) = try RepositoryPusher.makeKeyPair("profile", in: keys)
        let first = try prepared.mountBundle("first", ["--record-profile", "--push-profile", "--sign-key", key])
        defer { first.stop() }
        try Runc.adjust(bundle: first.mountpoint, arguments: ["/bin/sh", "-c", command], root: true)
        let beforeFirst = Self.blobFetches(prepared.registry)
        let firstRun = try prepared.runc.run(bundle: first.mountpoint, id: "first")
        let onDemandFirst = Self.blobFetches(prepared.registry) - beforeFirst
        try #require(firstRun.status == 0, "\(firstRun)")
        try #require(OcicredBinary.run(["unmount", first.mountpoint], home: prepared.home).status == 0)
        #expect(first.waitForExit() == 0)
        #expect(first.log.contains("start-up profile pushed"), "\(first.log.suffix(2000))")

        // Second start, as on another machine: no chunks, no cached profile; the profile comes from the registry.
        try FileManager.default.removeItem(atPath: prepared.home + "/.cache/ocicred/chunks")
        try FileManager.default.removeItem(atPath: prepared.home + "/.cache/ocicred/profile")
        let second = try prepared.mountBundle("second", ["--index-key", pub])
        defer { second.stop() }
        let deadline = Date() + 60
        while !second.log.contains("start-up profile fetched") && Date() < deadline { usleep(100_000) }
        #expect(second.log.contains("start-up profile from the registry"), "\(second.log.suffix(2000))")
        try #require(second.log.contains("start-up profile fetched"), "\(second.log.suffix(2000))")
        try Runc.adjust(bundle: second.mountpoint, arguments: ["/bin/sh", "-c", command], root: true)
        let beforeSecond = Self.blobFetches(prepared.registry)
        let secondRun = try prepared.runc.run(bundle: second.mountpoint, id: "second")
        let onDemandSecond = Self.blobFetches(prepared.registry) - beforeSecond
        #expect(secondRun.status == 0 && secondRun.stdoutText == firstRun.stdoutText, "the same bytes")
        #expect(onDemandFirst >= 20, "\(onDemandFirst) fetches on the first start")
        #expect(onDemandSecond < onDemandFirst / 4, "\(onDemandSecond) on-demand fetches after the profile")
    }

    /// `--record-seconds N` ends the recording N seconds after mounting, while the mount goes on serving: the
    /// profile is kept then, holds what the container read before, and what is read afterwards never enters it.
    @Test func recordSecondsKeepsTheProfileWhileMountedAndNothingReadAfterwards() throws {
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        let mount = try prepared.mountBundle("timed", ["--record-seconds", "8"])
        defer { mount.stop() }
        try Runc.adjust(
            bundle: mount.mountpoint, arguments: ["/bin/sh", "-c", "cat /usr/lib/mixed.txt | sha256sum"], root: true)
        let before = try prepared.runc.run(bundle: mount.mountpoint, id: "timed-before")
        try #require(before.status == 0, "\(before)")

        let deadline = Date() + 30
        while !mount.log.contains("start-up profile recorded") && Date() < deadline { usleep(100_000) }
        try #require(mount.log.contains("start-up profile recorded"), "\(mount.log.suffix(2000))")
        let profileName = try #require(
            (try FileManager.default.contentsOfDirectory(atPath: prepared.home + "/.cache/ocicred/profile")).first)
        let profilePath = prepared.home + "/.cache/ocicred/profile/" + profileName
        let kept = try Data(contentsOf: URL(fileURLWithPath: profilePath))
        let files = try #require(
            (try JSONSerialization.jsonObject(with: kept) as? [String: Any])?["files"] as? [String])
        #expect(files.contains("usr/lib/mixed.txt"), "\(files)")
        #expect(!files.contains("usr/lib/big2.bin"))

        // Read after the recording ended: served, and the kept profile does not change, even at unmount.
        try Runc.adjust(
            bundle: mount.mountpoint, arguments: ["/bin/sh", "-c", "cat /usr/lib/big2.bin | sha256sum"], root: true)
        let after = try prepared.runc.run(bundle: mount.mountpoint, id: "timed-after")
        #expect(after.status == 0, "\(after)")
        #expect(try OcicredBinary.run(["unmount", mount.mountpoint], home: prepared.home).status == 0)
        #expect(mount.waitForExit() == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: profilePath)) == kept)
        #expect(mount.log.components(separatedBy: "start-up profile recorded").count == 2, "recorded once")
    }

    // MARK: - Past token expiry, inside a container

    /// A container started by runc from a bundle whose registry issues 30-second tokens reads spans it never read
    /// for three minutes: all 128 spans come back right, one every 1.4 s for at least 175 s, and the token server
    /// mints at least three tokens over that time (distribution accepts a token up to 60 s past its `exp`, so fewer
    /// would mean expiries were not acted on). Whether each read reached the registry is not counted (the registry
    /// keeps no per-blob counter); no span is read twice, so none can be served by an earlier read.
    @Test func aContainerKeepsReadingNeverReadSpansForThreeMinutesOfThirtySecondTokens() throws {
        try ThirtySecondTokens.with(prefix: "ocicred-bundle-token") {
            registry, directory, home, environment, password in
            let image = try LayeredImage.build(in: directory, largeFileMiB: 8, runnable: true)
            try image.push(
                toHost: registry.host, username: "reader", password: password, repository: "team/runnable",
                directory: directory)
            let rootfs = try image.unpackLayoutWithUmoci(directory: directory)
            let large = [UInt8](try Data(contentsOf: URL(fileURLWithPath: rootfs + "/usr/lib/large.bin")))
            let login = try OcicredBinary.run(
                ["login", registry.host, "-u", "reader", "--password-stdin"], home: home, stdin: password + "\n",
                extraEnvironment: environment)
            try #require(login.status == 0, "login: \(login)")
            let runc = try Runc(in: directory)

            let mount = try OcicredMount(
                image: "\(registry.host)/team/runnable:layered", mountpoint: directory.file("bundle"), home: home,
                arguments: ["--bundle", "--span", "65536", "--fetch-timeout", "20"], environment: environment)
            defer { mount.stop() }
            try #require(mount.waitUntilMounted(), "mount: \(mount.log)")
            let tokensBefore =
                try registry.tokensIssued()

            // 8 MiB in 64 KiB spans, in a shuffled order, one every 1.4 s, never the same twice: 128 × 1.4 s ≥ 3 min.
            let span = 64 << 10
            let order = Array(0..<(large.count / span)).shuffled()
            let script =
                "for n in \(order.map(String.init).joined(separator: " ")); do "
                + "dd if=/usr/lib/large.bin bs=65536 skip=$n count=1 2>/dev/null | sha256sum | head -c 64; echo \" $n\"; "
                + "sleep 1.4; done"
            try Runc.adjust(bundle: mount.mountpoint, arguments: ["/bin/sh", "-c", script], root: true)
            let started = Date()
            let run = try runc.run(bundle: mount.mountpoint, id: "soak", timeout: 300)
            let elapsed = Date().timeIntervalSince(started)
            let tokens =
                try registry.tokensIssued() - tokensBefore

            #expect(run.status == 0, "\(run.stderrText)\n\(mount.log.suffix(2000))")
            let lines = run.stdoutText.split(separator: "\n")
            var wrong: [String] = []
            for line in lines {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let index = Int(parts[1]) else {
                    wrong.append(String(line))
                    continue
                }
                let expected = SHA256.hexDigest(Array(large[(index * span)..<((index + 1) * span)]))
                if parts[0] != expected { wrong.append(String(line)) }
            }
            #expect(lines.count == order.count, "\(lines.count) reads of \(order.count)")
            #expect(wrong.isEmpty, "wrong: \(wrong.prefix(5))")
            #expect(elapsed >= 175, "\(elapsed) s")
            // distribution accepts a token up to 60 s past its exp: more than three tokens shows expiries acted on.
            #expect(tokens >= 3, "only \(tokens) tokens over three minutes of 30-second tokens")
            #expect(!mount.log.contains(password))
        }
    }
}

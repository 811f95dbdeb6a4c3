import Crypto
import Foundation
import Synchronization
import TestSupport
import Testing

/// `ocicred mount` as a user runs it, against the Debian docker-registry, with `umoci unpack` of the same image
/// as the reference: the tree and every byte match, concurrent readers get the right bytes, `ocicred unmount`
/// and SIGTERM end it cleanly, and faults (a registry that dies, a proxy that alters bytes) are EIO within the
/// fetch timeout — never a hang, never wrong data.
@Suite(.serialized)
struct MountTests {
    /// A registry with the layered image pushed, a home with `ocicred login` done, and the umoci reference.
    typealias Prepared = PushedImage

    static func prepare(largeFileMiB: Int = 0) throws -> Prepared {
        try PushedImage.prepare(
            username: "mounter", repository: "team/layered", prefix: "ocicred-mount", largeFileMiB: largeFileMiB)
    }

    static func sha256(_ path: String) throws -> String {
        SHA256.hexDigest([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    enum ReadOutcome: Equatable {
        case bytes([UInt8])
        case failed(errno: Int32)

        func get() throws -> [UInt8] {
            guard case .bytes(let bytes) = self else { throw POSIXError(.EIO) }
            return bytes
        }
    }

    /// `pread` of exactly `count` bytes (short only at end of file), or the errno.
    static func pread(_ path: String, offset: Int, count: Int) -> ReadOutcome {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .failed(errno: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes {
                Glibc.pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done))
            }
            if n < 0 { return .failed(errno: errno) }
            if n == 0 { break }
            done += n
        }
        return .bytes(Array(buffer[0..<done]))
    }

    @Test func mountedTreeAndBytesMatchUmociUnpackAndConcurrentReadersAgree() throws {
        let prepared = try Self.prepare(largeFileMiB: 64)
        defer { prepared.stop() }
        let rootfs = try LayeredImage.unpackWithUmoci(
            registry: prepared.registry, password: prepared.password, reference: prepared.reference,
            directory: prepared.directory)
        let mountpoint = prepared.directory.file("mnt")
        let mount = try OcicredMount(
            image: prepared.reference, mountpoint: mountpoint, home: prepared.home,
            arguments: ["--span", "1048576"], environment: prepared.environment)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(timeout: 180), "mount: \(mount.log)")

        // Every path: type, permission bits, size, link target; every regular file: sha256.
        let expected = LayeredImage.walk(rootfs)
        let mounted = LayeredImage.walk(mountpoint)
        #expect(Set(mounted.keys) == Set(expected.keys))
        #expect(expected.count >= 30)
        var hashed = 0
        for (path, reference) in expected {
            #expect(mounted[path] == reference, "\(path)")
            if reference.kind == "file" {
                #expect(try Self.sha256(mountpoint + "/" + path) == Self.sha256(rootfs + "/" + path), "\(path)")
                hashed += 1
            }
        }
        #expect(hashed >= 12)
        #expect(mounted["usr/lib/large.bin"]?.size == 64 << 20)

        // Owners, the hard link's shared inode, the PAX xattr, and read-only-ness.
        var original = stat()
        var link = stat()
        var overwritten = stat()
        #expect(
            lstat(mountpoint + "/data/original", &original) == 0 && lstat(mountpoint + "/data/hardlink", &link) == 0)
        #expect(original.st_ino == link.st_ino && original.st_nlink == 2)
        #expect(lstat(mountpoint + "/etc/overwritten", &overwritten) == 0)
        #expect(overwritten.st_uid == 1000 && overwritten.st_gid == 1000)
        let longPath = try #require(expected.keys.first { $0.hasSuffix("long-name-file.txt") })
        let xattrs = try ProcessRunner.run(
            "python3",
            [
                "-c",
                "import os, sys; print(os.getxattr(sys.argv[1], 'user.note').decode(), os.listxattr(sys.argv[1]), "
                    + "os.listxattr(sys.argv[2]))",
                mountpoint + "/" + longPath, mountpoint + "/empty",
            ])
        #expect(xattrs.stdoutText == "kept ['user.note'] []\n", "\(xattrs)")
        #expect(open(mountpoint + "/empty", O_WRONLY) == -1 && errno == EROFS)
        var filesystem = statvfs()
        #expect(statvfs(mountpoint, &filesystem) == 0 && filesystem.f_blocks > 0)

        // Eight threads at random offsets of the big file (cold and warm spans alike) get the reference bytes.
        let reference = try Data(contentsOf: URL(fileURLWithPath: rootfs + "/usr/lib/large.bin"))
        let mismatches = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<25 {
                let count = Int.random(in: 1...(300 << 10), using: &generator)
                let offset = Int.random(in: 0..<(reference.count - count), using: &generator)
                switch Self.pread(mountpoint + "/usr/lib/large.bin", offset: offset, count: count) {
                case .bytes(let bytes) where bytes == [UInt8](reference[offset..<(offset + count)]): continue
                default: mismatches.withLock { $0 += 1 }
                }
            }
            _ = thread
        }
        #expect(mismatches.withLock { $0 } == 0)
        #expect(!mount.log.contains(prepared.password))

        // `ocicred unmount` refuses what is not ours, then ends the mount; the process exits 0.
        let refused = try OcicredBinary.run(["unmount", prepared.home], home: prepared.home)
        #expect(refused.status == 1 && refused.stdoutText.isEmpty)
        let unmounted = try OcicredBinary.run(["unmount", mountpoint], home: prepared.home)
        #expect(unmounted.status == 0, "\(unmounted)")
        #expect(mount.waitForExit(timeout: 40) == 0, "\(mount.log)")
        #expect(!OcicredMount.isMounted(mountpoint))
    }

    @Test func deadRegistryIsEIOWithinTheFetchTimeoutAndSIGTERMUnmounts() throws {
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        let mountpoint = prepared.directory.file("mnt")
        let mount = try OcicredMount(
            image: prepared.reference, mountpoint: mountpoint, home: prepared.home,
            arguments: ["--span", "262144", "--fetch-timeout", "5"], environment: prepared.environment)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(), "mount: \(mount.log)")
        // Warm: one file read while the registry is up.
        let warm = Self.pread(mountpoint + "/etc/overwritten", offset: 0, count: 100)
        #expect((try? warm.get()) == Array("version two, longer than the first\n".utf8))

        prepared.registry.stop()
        let started = Date()
        let cold = Self.pread(mountpoint + "/usr/lib/big2.bin", offset: 1_500_000, count: 4096)
        let elapsed = Date().timeIntervalSince(started)
        #expect(cold == .failed(errno: EIO), "a dead registry must be EIO, got \(cold)")
        #expect(elapsed < 5 + 3, "EIO after \(elapsed) s, bound 5 s")
        #expect(elapsed > 1, "gave up without retrying (\(elapsed) s)")
        // What was read before is still served from the cache.
        #expect((try? Self.pread(mountpoint + "/etc/overwritten", offset: 0, count: 7).get()) == Array("version".utf8))
        #expect(mount.log.contains("retrying"), "\(mount.log)")

        mount.signal(SIGTERM)
        #expect(mount.waitForExit(timeout: 20) == 0, "\(mount.log)")
        #expect(!OcicredMount.isMounted(mountpoint))
    }

    @Test func aSpanAlteredOnTheWayIsEIONeverWrongBytes() throws {
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        let proxy = try FixtureServer(
            script: "tamper_proxy.py", arguments: ["--upstream", prepared.registry.host])
        defer { proxy.stop() }
        let proxyHost = "127.0.0.1:\(proxy.port)"
        let login = try OcicredBinary.run(
            ["login", proxyHost, "-u", "mounter", "--password-stdin"], home: prepared.home,
            stdin: prepared.password + "\n", extraEnvironment: prepared.environment)
        try #require(login.status == 0, "login through the proxy: \(login)")
        let mountpoint = prepared.directory.file("mnt")
        let mount = try OcicredMount(
            image: "\(proxyHost)/team/layered:layered", mountpoint: mountpoint, home: prepared.home,
            arguments: ["--span", "262144", "--fetch-timeout", "10"], environment: prepared.environment)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(), "mount: \(mount.log)")

        let switched = try ProcessRunner.run("curl", ["-s", "-X", "POST", "--data", "on", proxy.baseURL + "/__tamper"])
        try #require(switched.stdoutText.contains("true"))
        // A plain-tar layer (digest check) and a gzip layer (inflate or digest check): both EIO.
        #expect(Self.pread(mountpoint + "/data/original", offset: 0, count: 1000) == .failed(errno: EIO))
        #expect(Self.pread(mountpoint + "/usr/lib/text.txt", offset: 0, count: 1000) == .failed(errno: EIO))
        #expect(mount.log.contains("does not match"), "\(mount.log)")

        // With honest bytes again the same reads succeed: nothing bad was cached.
        _ = try ProcessRunner.run("curl", ["-s", "-X", "POST", "--data", "off", proxy.baseURL + "/__tamper"])
        let rootfs = try prepared.image.unpackLayoutWithUmoci(directory: prepared.directory)
        let honest = try Self.pread(mountpoint + "/data/original", offset: 0, count: 1000).get()
        let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: rootfs + "/data/original")).prefix(1000))
        #expect(honest == expected)
    }

    @Test func mountTakesTheIndexPushedToTheRegistryBeforeBuildingOne() throws {
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        let pushed = try OcicredBinary.run(
            ["index", prepared.reference, "--push", "--span", "262144"], home: prepared.home,
            extraEnvironment: prepared.environment, timeout: 120)
        try #require(pushed.status == 0, "index --push: \(pushed)")

        // Another machine: an empty cache, so only the registry can supply the index.
        var environment = prepared.environment
        environment["XDG_CACHE_HOME"] = prepared.directory.file("other-cache")
        environment["OCICRED_LOG_LEVEL"] = "info"
        let mountpoint = prepared.directory.file("mnt")
        // The operator's word that whoever can push here decides what the mount reads.
        let mount = try OcicredMount(
            image: prepared.reference, mountpoint: mountpoint, home: prepared.home,
            arguments: ["--span", "262144", "--trust-pushed-index"], environment: environment)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(), "mount: \(mount.log)")
        #expect(mount.log.contains("index from the registry"), "\(mount.log)")
        #expect(mount.log.contains("trusted as pushed"), "\(mount.log)")
        #expect(!mount.log.contains("building the index"))
        let cached = try FileManager.default.contentsOfDirectory(
            atPath: environment["XDG_CACHE_HOME"]! + "/ocicred/index")
        #expect(cached.count == 1 && cached[0].hasPrefix("sha256:"))
        #expect(
            (try? Self.pread(mountpoint + "/etc/overwritten", offset: 0, count: 11).get())
                == Array("version two".utf8))

        // With a different span the pushed index does not fit: the mount builds its own.
        mount.stop()
        environment["XDG_CACHE_HOME"] = prepared.directory.file("third-cache")
        let other = try OcicredMount(
            image: prepared.reference, mountpoint: mountpoint, home: prepared.home,
            arguments: ["--span", "524288"], environment: environment)
        defer { other.stop() }
        try #require(other.waitUntilMounted(), "mount: \(other.log)")
        #expect(other.log.contains("building the index"), "\(other.log)")
    }

    /// A sequential reader is read ahead in runs: spans that follow each other come in one range request and
    /// one inflate from one checkpoint, the span before standing in for each later window. 8 MiB in 64 KiB spans
    /// (128 spans, each with a window stored apart, as a pushed index has them) read by `cat` cost a handful of
    /// requests, where a fetch per span and per window would be 256; the bytes are umoci's.
    @Test func aSequentialReaderIsFetchedInRunsNotSpanBySpan() throws {
        let prepared = try Self.prepare(largeFileMiB: 8)
        defer { prepared.stop() }
        let pushed = try OcicredBinary.run(
            ["index", prepared.reference, "--push", "--span", "65536"], home: prepared.home,
            extraEnvironment: prepared.environment, timeout: 120)
        try #require(pushed.status == 0, "index --push: \(pushed)")
        var environment = prepared.environment
        environment["XDG_CACHE_HOME"] = prepared.directory.file("empty-cache")
        environment["OCICRED_LOG_LEVEL"] = "info"
        let mountpoint = prepared.directory.file("mnt")
        // The index pinned by the artifact digest `index --push` printed.
        let artifact = try #require(pushed.stdoutText.split(separator: "@").last.map { String($0.prefix(71)) })
        let mount = try OcicredMount(
            image: prepared.reference, mountpoint: mountpoint, home: prepared.home,
            arguments: ["--span", "65536", "--index", artifact], environment: environment)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(), "mount: \(mount.log)")
        try #require(mount.log.contains("index from the registry"), "the windows must be stored apart: \(mount.log)")
        #expect(mount.log.contains("pinned by digest"), "\(mount.log)")

        func rangeRequests() -> Int {
            prepared.registry.log.split(separator: "\n").filter {
                $0.contains("response completed") && $0.contains("http.request.method=GET")
                    && $0.contains("/team/layered/blobs/sha256:") && $0.contains("http.response.status=206")
            }.count
        }
        let before = rangeRequests()
        let read = try ProcessRunner.run("sha256sum", [mountpoint + "/usr/lib/large.bin"])
        try #require(read.status == 0, "\(read)")
        Thread.sleep(forTimeInterval: 0.5)  // the registry logs a response once it is complete
        let requests = rangeRequests() - before
        let rootfs = try prepared.image.unpackLayoutWithUmoci(directory: prepared.directory)
        #expect(read.stdoutText.prefix(64) == (try Self.sha256(rootfs + "/usr/lib/large.bin")))
        #expect(requests >= 2 && requests <= 40, "\(requests) range requests for 128 spans of 64 KiB")
    }

    /// The seeds' open hole: a mount that outlives its registry token. docker-registry with token auth whose
    /// tokens live 30 s; for three minutes the mount reads spans it has never read (each one uncached, so it has to
    /// be fetched), and none fails — each expired token is replaced through the credential resolver, which the
    /// token server's count of tokens issued shows.
    @Test func keepsReadingUncachedSpansForThreeMinutesOfThirtySecondTokens() throws {
        try ThirtySecondTokens.with(prefix: "ocicred-mount-token") { registry, directory, home, environment, password in
            let image = try LayeredImage.build(in: directory, largeFileMiB: 8)
            try image.push(
                toHost: registry.host, username: "reader", password: password, repository: "team/layered",
                directory: directory)
            let rootfs = try image.unpackLayoutWithUmoci(directory: directory)
            let reference = try Data(contentsOf: URL(fileURLWithPath: rootfs + "/usr/lib/large.bin"))
            let login = try OcicredBinary.run(
                ["login", registry.host, "-u", "reader", "--password-stdin"], home: home, stdin: password + "\n",
                extraEnvironment: environment)
            try #require(login.status == 0, "login: \(login)")

            let mountpoint = directory.file("mnt")
            let mount = try OcicredMount(
                image: "\(registry.host)/team/layered:layered", mountpoint: mountpoint, home: home,
                arguments: ["--span", "65536", "--fetch-timeout", "20"], environment: environment)
            defer { mount.stop() }
            try #require(mount.waitUntilMounted(), "mount: \(mount.log)")
            let tokensBefore =
                try registry.tokensIssued()

            // 8 MiB in 64 KiB spans: 128 spans, read in a shuffled order, one every 1.4 s, never the same twice.
            let span = 64 << 10
            var order = Array(0..<(reference.count / span))
            order.shuffle()
            let started = Date()
            var reads = 0
            var failures: [String] = []
            for index in order {
                guard Date().timeIntervalSince(started) < 180 else { break }
                let offset = index * span + 17
                switch Self.pread(mountpoint + "/usr/lib/large.bin", offset: offset, count: 1000) {
                case .bytes(let bytes) where bytes == [UInt8](reference[offset..<(offset + 1000)]): reads += 1
                case let other:
                    failures.append("span \(index) at \(Int(Date().timeIntervalSince(started))) s: \(other)")
                }
                Thread.sleep(forTimeInterval: 1.4)
            }
            let tokens =
                try registry.tokensIssued() - tokensBefore
            #expect(failures.isEmpty, "\(failures)\n\(mount.log.suffix(2000))")
            #expect(Date().timeIntervalSince(started) >= 175 && reads >= 120, "\(reads) reads")
            // Six lifetimes pass; distribution accepts a token up to 60 s past its exp (its leeway), so a client that
            // only renewed on 401 would need two or three — more than that shows the expiries were acted on.
            #expect(tokens >= 3, "only \(tokens) tokens over three minutes of 30-second tokens")
            #expect(!mount.log.contains(password))
        }
    }

    /// `--prefetch` downloads every span in the background: once it is done, the registry can go away and every
    /// file still reads like the reference.
    @Test func prefetchFetchesEverySpanSoTheMountSurvivesTheRegistry() throws {
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        let rootfs = try prepared.image.unpackLayoutWithUmoci(directory: prepared.directory)
        let mountpoint = prepared.directory.file("mnt")
        let mount = try OcicredMount(
            image: prepared.reference, mountpoint: mountpoint, home: prepared.home,
            arguments: ["--span", "262144", "--prefetch", "--fetch-timeout", "3"], environment: prepared.environment)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(), "mount: \(mount.log)")
        let indexDirectory = prepared.home + "/.cache/ocicred/index"
        let indexFile = try #require(
            try FileManager.default.contentsOfDirectory(atPath: indexDirectory).first { !$0.contains(".tmp") })
        let index = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: indexDirectory + "/" + indexFile))) as? [String: Any])
        let layers = try #require(index["layers"] as? [[String: Any]])
        let spanCount = layers.reduce(0) { $0 + (($1["spans"] as? [Any])?.count ?? 0) }
        let chunks = prepared.home + "/.cache/ocicred/chunks"
        func cachedSpans() -> Int {
            let enumerator = FileManager.default.enumerator(atPath: chunks)
            var count = 0
            // Each file holds one fetch's spans: `<first>+<count>`, or a bare `<span>`.
            while let path = enumerator?.nextObject() as? String {
                let parts = path.split(separator: "/")
                guard parts.count == 2, !parts[1].hasPrefix(".") else { continue }
                count += parts[1].split(separator: "+").dropFirst().first.flatMap { Int($0) } ?? 1
            }
            return count
        }
        let deadline = Date() + 60
        while cachedSpans() < spanCount && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        #expect(cachedSpans() == spanCount, "\(cachedSpans()) of \(spanCount) spans prefetched")

        prepared.registry.stop()
        let expected = LayeredImage.walk(rootfs)
        for (path, entry) in expected where entry.kind == "file" {
            #expect(try Self.sha256(mountpoint + "/" + path) == Self.sha256(rootfs + "/" + path), "\(path)")
        }
    }

    /// `default_permissions` makes the kernel apply the image's modes and owners, and only `--allow-other` lets
    /// another user in at all.
    @Test func otherUsersNeedAllowOtherAndThenMeetTheImagesModes() throws {
        try #require(getuid() == 0, "needs root to act as another user")
        let prepared = try Self.prepare()
        defer { prepared.stop() }
        func readAsNobody(_ path: String) throws -> ProcessResult {
            try ProcessRunner.run(
                "setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "cat", path], timeout: 30)
        }
        let closed = prepared.directory.file("closed")
        let mount = try OcicredMount(
            image: prepared.reference, mountpoint: closed, home: prepared.home, environment: prepared.environment)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(), "mount: \(mount.log)")
        chmod(prepared.directory.path, 0o755)
        #expect(try readAsNobody(closed + "/data/original").status != 0, "without --allow-other nobody is let in")
        mount.stop()

        let open = prepared.directory.file("open")
        let shared = try OcicredMount(
            image: prepared.reference, mountpoint: open, home: prepared.home, arguments: ["--allow-other"],
            environment: prepared.environment)
        defer { shared.stop() }
        try #require(shared.waitUntilMounted(), "mount: \(shared.log)")
        let world = try readAsNobody(open + "/data/original")
        #expect(world.status == 0 && world.stdout.count > 1000, "0644 file under a 0711 directory: \(world)")
        let ownerOnly = try readAsNobody(open + "/secret/key")
        #expect(
            ownerOnly.status != 0 && ownerOnly.stderrText.contains("Permission denied"), "0400 root file: \(ownerOnly)")
        // The image's own directory modes count too: its usr/ is 0644 (no search bit), as umoci unpacks it.
        #expect(try readAsNobody(open + "/usr/lib/text.txt").status != 0)
    }

    /// A registry with a self-signed certificate holding a zstd-recompressed image: the mount refuses it with the
    /// TLS exit code until `--tls-verify=false`, then serves every file like umoci's unpack of the same layout
    /// (zstd layers are fetched whole on first read, checked, and cached).
    @Test func zstdLayersOverTLSWithVerificationOffReadLikeUmoci() throws {
        let password = "pw:" + UUID().uuidString.prefix(8).lowercased()
        let directory = try TemporaryDirectory(prefix: "ocicred-mount-zstd")
        defer { directory.remove() }
        let certificate = try SelfSignedCertificate.loopback(in: directory.path, name: "registry-tls")
        let registry = try RegistryFixture.start(username: "mounter", password: password, tls: certificate)
        defer { registry.stop() }
        let home = directory.file("home")
        let environment = try OcicredBinary.registryEnvironment(home: home)
        let image = try LayeredImage.build(in: directory)
        try image.push(
            toHost: registry.host, username: "mounter", password: password, repository: "team/zstd",
            directory: directory, recompress: "zstd")
        let rootfs = try image.unpackLayoutWithUmoci(directory: directory)
        let login = try OcicredBinary.run(
            ["login", registry.host, "-u", "mounter", "--password-stdin", "--tls-verify=false"], home: home,
            stdin: password + "\n", extraEnvironment: environment)
        try #require(login.status == 0, "login: \(login)")
        let reference = "\(registry.host)/team/zstd:layered"
        let mountpoint = directory.file("mnt")

        let refused = try OcicredMount(image: reference, mountpoint: mountpoint, home: home, environment: environment)
        defer { refused.stop() }
        #expect(!refused.waitUntilMounted(timeout: 60))
        #expect(refused.waitForExit() == 5, "\(refused.log)")
        #expect(refused.log.contains("TLS"), "\(refused.log)")

        var logged = environment
        logged["OCICRED_LOG_LEVEL"] = "info"
        let mount = try OcicredMount(
            image: reference, mountpoint: mountpoint, home: home, arguments: ["--tls-verify=false"],
            environment: logged)
        defer { mount.stop() }
        try #require(mount.waitUntilMounted(), "mount: \(mount.log)")
        let index = try String(
            contentsOfFile: home + "/.cache/ocicred/index/"
                + (try FileManager.default.contentsOfDirectory(atPath: home + "/.cache/ocicred/index").first ?? ""),
            encoding: .utf8)
        #expect(index.contains("\"compression\":\"zstd\""), "skopeo did not write zstd layers")
        let expected = LayeredImage.walk(rootfs)
        #expect(Set(LayeredImage.walk(mountpoint).keys) == Set(expected.keys))
        var hashed = 0
        for (path, entry) in expected where entry.kind == "file" {
            #expect(try Self.sha256(mountpoint + "/" + path) == Self.sha256(rootfs + "/" + path), "\(path)")
            hashed += 1
        }
        #expect(hashed >= 12)
    }
}

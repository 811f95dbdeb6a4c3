import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The files ocicred touches, attacked the way a local user who can write next to them would, through the built
/// binary: symlinks planted at every name a writer might use, lock files pointing elsewhere, directories and keys
/// others can write or read, FIFOs at every path ocicred reads, and a shared /tmp. Each test covers a class of
/// paths (every writer, every lock, every read), not one call site.
@Suite("files ocicred touches, attacked through the binary")
struct HardeningFileTests {
    static let registry = "registry.example.com"
    static let staticConfig = """
        registries:
          - host: \(registry)
            credentials: [REG_USER, REG_PASS]
        """
    static let credentialsEnvironment = ["REG_USER": "ci-user", "REG_PASS": "planted-symlink-canary-pw"]

    // MARK: - Class 1: one safe way to write a file

    /// Every command that writes a file, as a user runs it, in a home laid out by `prepare`.
    enum Writer: String, CaseIterable, CustomTestStringConvertible {
        case helperStore, authfile, configure, refreshAuthFile
        var testDescription: String { rawValue }

        func run(home: String) throws -> ProcessResult {
            let environment = HardeningFileTests.credentialsEnvironment.merging(
                ["OCICRED_CONFIG": home + "/config.yaml"]) { $1 }
            switch self {
            case .helperStore:
                return try OcicredBinary.helper(
                    "store", home: home,
                    stdin: Data(#"{"ServerURL":"\#(HardeningFileTests.registry)","Username":"u","Secret":"s"}"#.utf8),
                    extraEnvironment: environment)
            case .authfile:
                return try OcicredBinary.run(
                    ["authfile", "--registry", HardeningFileTests.registry, "-o", home + "/out/auth.json"], home: home,
                    extraEnvironment: environment)
            case .configure:
                return try OcicredBinary.run(
                    ["configure", "--registry", HardeningFileTests.registry, "--authfile", home + "/out/auth.json"],
                    home: home, extraEnvironment: environment)
            case .refreshAuthFile:
                return try OcicredBinary.run(
                    ["refresh", "--once", "--auth-file", home + "/shared/auth.json"], home: home,
                    extraEnvironment: environment)
            }
        }
    }

    @Test(
        "a symlink planted at any name a writer could use never redirects the write",
        arguments: Writer.allCases)
    func plantedSymlinksNeverRedirectAWrite(writer: Writer) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        // Learn which files this writer creates, in a home of its own.
        let learn = scratch.file("learn")
        try prepareHome(learn)
        let learned = try writer.run(home: learn)
        try #require(learned.status == 0, "\(learned)")
        let written = try StoreSnapshot(of: [learn]).files.map { String($0.path.dropFirst(learn.count + 1)) }
            .filter { $0 != "config.yaml" }
        try #require(!written.isEmpty)

        // Then, in a fresh home, plant symlinks to a victim at the guessable temporary names of each of them:
        // `<file>.tmp-<pid>` for the next pids the kernel will hand out, `<file>.tmp`, `<file>~`, `.<file>.swp`.
        let home = scratch.file("home")
        try prepareHome(home)
        let victim = scratch.file("victim")
        let original = Data("the attacker's choice of file must not change\n".utf8)
        try original.write(to: URL(fileURLWithPath: victim))
        let lastPid = try #require(
            Int(
                try String(contentsOfFile: "/proc/sys/kernel/ns_last_pid", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)),
            "the next pids are read from /proc/sys/kernel/ns_last_pid")
        var planted = Set<String>()
        for relative in written {
            let target = home + "/" + relative
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            let slash = target.lastIndex(of: "/")!
            let directory = String(target[..<slash])
            let base = String(target[target.index(after: slash)...])
            var names = ["\(target).tmp", "\(target)~", "\(directory)/.\(base).swp", "\(target).new"]
            names += (lastPid + 1...lastPid + 400).map { "\(target).tmp-\($0)" }
            for name in names where !FileManager.default.fileExists(atPath: name) {
                try FileManager.default.createSymbolicLink(atPath: name, withDestinationPath: victim)
                planted.insert(name)
            }
        }
        let result = try writer.run(home: home)
        #expect(result.status == 0, "\(result)")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: victim)) == original, "the victim was written through a symlink")
        for relative in written {
            var info = stat()
            #expect(lstat(home + "/" + relative, &info) == 0, "\(relative) was written")
            #expect(info.st_mode & S_IFMT == S_IFREG, "\(relative) is a regular file, not a symlink")
            #expect(info.st_mode & 0o777 == 0o600, "\(relative) is 0600")
        }
        // Nothing else was left behind: no temporary file beside the ones we planted.
        let leftovers = try StoreSnapshot(of: [home]).entries.filter { entry in
            entry.kind != .directory && !planted.contains(entry.path)
                && !written.contains(String(entry.path.dropFirst(home.count + 1))) && !entry.path.hasSuffix(".lock")
                && entry.path != home + "/config.yaml" && !entry.path.hasPrefix(home + "/bin/")
        }
        #expect(leftovers.isEmpty, "left behind: \(leftovers.map(\.path))")
    }

    @Test("writers killed mid-write leave no temporary file once the next write has run")
    func killedWritersLeaveNothingBehind() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try prepareHome(home.path)
        // A large secret (within the helper's input limit) makes the write long enough to be interrupted anywhere.
        let payload = Data(
            (#"{"ServerURL":"killed.example.com","Username":"u","Secret":""# + String(repeating: "x", count: 60_000)
                + #""}"#).utf8)
        let link = try OcicredBinary.linkHelper(into: try makeDirectory(home.file("bin")))
        var killed = 0
        for round in 0..<60 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: link + "/docker-credential-ocicred")
            process.arguments = ["store"]
            process.environment = OcicredBinary.environment(home: home.path)
            let input = Pipe()
            process.standardInput = input
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            try? input.fileHandleForWriting.write(contentsOf: payload)
            try? input.fileHandleForWriting.close()
            usleep(UInt32(1_000 * (round % 20)))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                killed += 1
            }
            process.waitUntilExit()
        }
        try #require(killed > 10, "enough writers were killed mid-way (\(killed))")
        // Temporary files younger than a few seconds may belong to a live writer; wait past that, then write once.
        sleep(6)
        let stored = try OcicredBinary.helper(
            "store", home: home.path, stdin: Data(#"{"ServerURL":"last.example.com","Username":"u","Secret":"s"}"#.utf8)
        )
        try #require(stored.status == 0, "\(stored)")
        let names = try FileManager.default.contentsOfDirectory(atPath: home.file(".local/share/ocicred"))
        let unexpected = names.filter { !($0.hasPrefix("oci-creds-") && !$0.contains(".")) && $0 != ".lock" }
        #expect(unexpected.isEmpty, "temporary files left in the store: \(unexpected)")
        let keyDirectory = try FileManager.default.contentsOfDirectory(atPath: home.file(".config/ocicred"))
        #expect(keyDirectory == ["key"], "the key directory holds only the key: \(keyDirectory)")
    }

    /// What a writer SIGKILLed between naming its temporary file and renaming it leaves: a named, unlocked file
    /// with its bytes. Any command that opens the store removes it at once; a temporary file a live writer holds
    /// locked (here `flock(1)` holds it) is never taken, however young or old.
    @Test(
        "a dead writer's temporary file is gone after the next get, list or erase; a live writer's stays",
        arguments: ["get", "list", "erase"])
    func deadWritersTemporariesAreSweptByEveryCommandThatOpensTheStore(_ action: String) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try prepareHome(home.path)
        let stored = try OcicredBinary.helper(
            "store", home: home.path, stdin: Data(#"{"ServerURL":"kept.example.com","Username":"u","Secret":"s"}"#.utf8)
        )
        try #require(stored.status == 0, "\(stored)")
        let store = home.file(".local/share/ocicred")
        let entry = try #require(
            try FileManager.default.contentsOfDirectory(atPath: store).first { $0.hasPrefix("oci-creds-") })
        let dead = store + "/." + entry + ".ocicred-tmp-00000000deadbeef"
        let live = store + "/." + entry + ".ocicred-tmp-0000000000000001"
        for path in [dead, live] {
            try #require(
                FileManager.default.createFile(
                    atPath: path, contents: Data("sealed bytes of a secret".utf8),
                    attributes: [.posixPermissions: 0o600]))
        }
        // A live writer: holds flock(2) on its file until its stdin closes.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: ProcessRunner.resolve("python3"))
        holder.arguments = [
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'rb'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); "
                + "sys.stdin.read()",
            live,
        ]
        let (toHolder, fromHolder) = (Pipe(), Pipe())
        holder.standardInput = toHolder
        holder.standardOutput = fromHolder
        try holder.run()
        defer {
            try? toHolder.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        let locked = String(decoding: fromHolder.fileHandleForReading.availableData, as: UTF8.self)
        try #require(locked.hasPrefix("locked"), "the live writer holds its lock")
        let ran = try OcicredBinary.helper(
            action, home: home.path, stdin: Data(action == "list" ? [] : Array("kept.example.com".utf8)))
        #expect(ran.status == 0, "\(ran)")
        #expect(
            !FileManager.default.fileExists(atPath: dead), "the dead writer's temporary file is gone after \(action)")
        #expect(FileManager.default.fileExists(atPath: live), "the live writer's is kept")
    }

    // MARK: - Class 2: lock files and directories must be ours

    /// Each lock ocicred takes, with the command that takes it.
    enum LockHolder: String, CaseIterable, CustomTestStringConvertible {
        case store, authFile, tokenCache
        var testDescription: String { rawValue }
    }

    @Test("a lock file planted as a symlink is refused and its target never created", arguments: LockHolder.allCases)
    func plantedLockSymlinkIsRefused(holder: LockHolder) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try prepareHome(home.path)
        let target = home.file("created-through-the-lock")
        var gcp: FixtureServer?
        defer { gcp?.stop() }
        let result: ProcessResult
        switch holder {
        case .store:
            try plant(symlink: home.file(".local/share/ocicred/.lock"), to: target)
            result = try Writer.helperStore.run(home: home.path)
        case .authFile:
            try plant(symlink: home.file("out/auth.json.lock"), to: target)
            result = try Writer.authfile.run(home: home.path)
        case .tokenCache:
            gcp = try FixtureServer(script: "gcp_fixtures.py")
            try plant(symlink: home.file(".cache/ocicred/tokens.lock"), to: target)
            result = try OcicredBinary.helper(
                "get", home: home.path, stdin: Data("gcr.io".utf8),
                extraEnvironment: try gcpMetadataEnvironment(gcp!))
        }
        #expect(result.status != 0, "\(result)")
        #expect(result.stdoutText.contains("symbolic link") || result.stderrText.contains("symbolic link"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: target), "the lock's target was created")
    }

    /// A secret-holding path another user could tamper with, and what the message must tell the user to run.
    enum UnsafeLayout: String, CaseIterable, CustomTestStringConvertible {
        case storeWorldWritable, storeOwnedByAnotherUser, storeParentWorldWritable, keyWorldReadable,
            keyGroupWritable, cacheWorldWritable
        var testDescription: String { rawValue }
    }

    @Test(
        "a store, key or cache that others can write or read is refused with the path and the fix",
        arguments: UnsafeLayout.allCases)
    func unsafeLayoutIsRefused(layout: UnsafeLayout) throws {
        try #require(geteuid() == 0, "the other-user case chowns to nobody, which needs root")
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try prepareHome(home.path)
        let stored = try OcicredBinary.helper(
            "store", home: home.path,
            stdin: Data(#"{"ServerURL":"\#(Self.registry)","Username":"u","Secret":"unsafe-layout-canary"}"#.utf8))
        try #require(stored.status == 0, "\(stored)")
        let store = home.file(".local/share/ocicred")
        let key = home.file(".config/ocicred/key")
        var command = { () throws -> ProcessResult in
            try OcicredBinary.helper("get", home: home.path, stdin: Data(Self.registry.utf8))
        }
        let path: String
        let fix: String
        var gcp: FixtureServer?
        defer { gcp?.stop() }
        switch layout {
        case .storeWorldWritable:
            chmod(store, 0o777)
            (path, fix) = (store, "chmod go-w")
        case .storeOwnedByAnotherUser:
            chown(store, 65534, 65534)
            (path, fix) = (store, "belongs to uid 65534")
        case .storeParentWorldWritable:
            chmod(home.file(".local/share"), 0o777)
            (path, fix) = (home.file(".local/share"), "chmod go-w")
        case .keyWorldReadable:
            chmod(key, 0o644)
            (path, fix) = (key, "chmod 600")
        case .keyGroupWritable:
            chmod(key, 0o620)
            (path, fix) = (key, "chmod 600")
        case .cacheWorldWritable:
            gcp = try FixtureServer(script: "gcp_fixtures.py")
            let environment = try gcpMetadataEnvironment(gcp!)
            try makeDirectory(home.file(".cache/ocicred"))
            chmod(home.file(".cache/ocicred"), 0o777)
            command = {
                try OcicredBinary.helper(
                    "get", home: home.path, stdin: Data("gcr.io".utf8), extraEnvironment: environment)
            }
            (path, fix) = (home.file(".cache/ocicred"), "chmod go-w")
        }
        let before = try StoreSnapshot(of: [store, key])
        let result = try command()
        #expect(result.status == 1, "\(result)")
        #expect(result.stdoutText.contains(path), "the message names \(path): \(result)")
        #expect(result.stdoutText.contains(fix), "the message says how to fix it: \(result)")
        #expect(!result.stdoutText.contains("unsafe-layout-canary"), "no credential is answered: \(result)")
        #expect(try StoreSnapshot(of: [store, key]) == before, "nothing was changed")
        // A store under a sticky world-writable parent (/tmp-like) is fine: others cannot swap our entries there.
        if layout == .storeParentWorldWritable {
            chmod(home.file(".local/share"), 0o1777)
            let again = try command()
            #expect(again.status == 0, "\(again)")
        }
    }

    // MARK: - Class 3: reads never hang on what they find

    /// Every path ocicred reads that another process could place, with a command that reads it.
    enum ReadPath: String, CaseIterable, CustomTestStringConvertible {
        case keyFile, storeEntry, ambientAuthFile, config, tokenCache, awsSharedConfig, gcpCredentials, caFile,
            certsDirectoryCA, registriesConf, kubeconfig, serviceAccountToken
        var testDescription: String { rawValue }
    }

    @Test("a FIFO at any path ocicred reads is an error naming it, never a hang", arguments: ReadPath.allCases)
    func fifoIsRefusedWithoutBlocking(path kind: ReadPath) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try prepareHome(home.path)
        let stored = try Writer.helperStore.run(home: home.path)
        try #require(stored.status == 0, "\(stored)")
        var environment = ["AWS_EC2_METADATA_DISABLED": "true", "GCE_METADATA_HOST": "127.0.0.1:9"]
        var stdin = Self.registry
        var arguments: [String]?
        var registry: RegistryFixture?
        defer { registry?.stop() }
        let fifo: String
        switch kind {
        case .keyFile:
            fifo = home.file(".config/ocicred/key")
            try FileManager.default.removeItem(atPath: fifo)
        case .storeEntry:
            let entries = try FileManager.default.contentsOfDirectory(atPath: home.file(".local/share/ocicred"))
            fifo = home.file(".local/share/ocicred/" + (try #require(entries.first { $0.hasPrefix("oci-creds-") })))
            try FileManager.default.removeItem(atPath: fifo)
        case .ambientAuthFile:
            fifo = home.file("auth.json")
            environment["REGISTRY_AUTH_FILE"] = fifo
            // An ambient auth file that cannot be read is skipped, and said so on stderr when logging is asked for
            // (the helper is quiet by default).
            environment["OCICRED_LOG_LEVEL"] = "warning"
            stdin = "unknown.example.org"
        case .config:
            fifo = home.file("fifo-config.yaml")
            environment["OCICRED_CONFIG"] = fifo
        case .tokenCache:
            fifo = home.file(".cache/ocicred/tokens")
            try makeDirectory(home.file(".cache/ocicred"))
            stdin = "gcr.io"
        case .awsSharedConfig:
            fifo = home.file("aws-config")
            environment["AWS_CONFIG_FILE"] = fifo
            stdin = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        case .gcpCredentials:
            fifo = home.file("adc.json")
            environment["GOOGLE_APPLICATION_CREDENTIALS"] = fifo
            stdin = "gcr.io"
        case .caFile, .certsDirectoryCA, .registriesConf:
            let certificate = try SelfSignedCertificate.loopback(in: home.path, name: "registry")
            registry = try RegistryFixture.start(username: "u", password: "p", tls: certificate)
            environment.merge(try OcicredBinary.registryEnvironment(home: home.path)) { $1 }
            let login = try OcicredBinary.helper(
                "store", home: home.path,
                stdin: Data(#"{"ServerURL":"\#(registry!.host)","Username":"u","Secret":"p"}"#.utf8))
            try #require(login.status == 0, "\(login)")
            arguments = ["verify", registry!.host]
            switch kind {
            case .caFile:
                fifo = home.file("ca.pem")
                environment["OCICRED_CA_FILE"] = fifo
            case .certsDirectoryCA:
                fifo = home.file("certs.d/\(registry!.host)/ca.crt")
                try makeDirectory(home.file("certs.d/\(registry!.host)"))
            default:
                fifo = home.file("registries.conf")
            }
        case .kubeconfig:
            fifo = home.file("kubeconfig")
            environment["KUBECONFIG"] = fifo
            environment["OCICRED_CONFIG"] = home.file("config.yaml")
            environment.merge(Self.credentialsEnvironment) { $1 }
            arguments = ["refresh", "--once", "--secret-name", "pull"]
        case .serviceAccountToken:
            fifo = home.file("serviceaccount/token")
            try makeDirectory(home.file("serviceaccount"))
            environment["KUBERNETES_SERVICE_HOST"] = "127.0.0.1"
            environment["KUBERNETES_SERVICE_PORT"] = "9"
            environment["OCICRED_KUBE_SERVICEACCOUNT_DIR"] = home.file("serviceaccount")
            environment["OCICRED_CONFIG"] = home.file("config.yaml")
            environment.merge(Self.credentialsEnvironment) { $1 }
            arguments = ["refresh", "--once", "--secret-name", "pull"]
        }
        try #require(mkfifo(fifo, 0o600) == 0, "mkfifo \(fifo): \(String(cString: strerror(errno)))")
        let started = Date()
        let result: ProcessResult
        if let arguments {
            result = try OcicredBinary.run(arguments, home: home.path, extraEnvironment: environment, timeout: 30)
        } else {
            result = try OcicredBinary.helper(
                "get", home: home.path, stdin: Data(stdin.utf8), extraEnvironment: environment, timeout: 30)
        }
        #expect(Date().timeIntervalSince(started) < 25, "it did not wait on the FIFO")
        let output = result.stdoutText + result.stderrText
        if kind == .tokenCache {
            // The cache is only a cache: a FIFO there is ignored, never read, so the answer is the one the same
            // call gives with no cache file at all.
            try FileManager.default.removeItem(atPath: fifo)
            let withoutCache = try OcicredBinary.helper(
                "get", home: home.path, stdin: Data(stdin.utf8), extraEnvironment: environment, timeout: 30)
            #expect(result.status == withoutCache.status, "with a FIFO: \(result)\nwithout: \(withoutCache)")
            #expect(result.stdoutText == withoutCache.stdoutText, "with a FIFO: \(result)\nwithout: \(withoutCache)")
            #expect(!output.contains("FIFO"), "a cache entry is not worth an error: \(result)")
        } else {
            #expect(result.status != 0, "\(result)")
            #expect(output.contains("FIFO"), "the message says what is there: \(result)")
            #expect(output.contains(fifo), "the message names the path: \(result)")
        }
        if kind == .keyFile || kind == .storeEntry {
            let listed = try OcicredBinary.helper("list", home: home.path, stdin: Data(), timeout: 30)
            #expect(listed.status == 1 && listed.stdoutText.contains("FIFO"), "list refuses it too: \(listed)")
        }
    }

    // MARK: - Class 4: no secret in a shared temporary directory

    @Test("no command writes under TMPDIR: the cluster CA goes to curl in memory")
    func nothingUnderTheSharedTemporaryDirectory() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try prepareHome(home.path)
        let shared = try makeDirectory(home.file("shared-tmp"))
        let server = try FixtureServer(
            script: "kube_apiserver.py", arguments: ["--tls-dir", home.path],
            environment: ["KUBE_FIXTURE_TOKENS": "tmpdir-fixture-token"])
        defer { server.stop() }
        let ca = try Data(contentsOf: URL(fileURLWithPath: home.file("ca.crt"))).base64EncodedString()
        try """
        apiVersion: v1
        kind: Config
        current-context: test
        clusters: [{name: c, cluster: {server: "https://127.0.0.1:\(server.port)", certificate-authority-data: \(ca)}}]
        users: [{name: u, user: {token: tmpdir-fixture-token}}]
        contexts: [{name: test, context: {cluster: c, user: u, namespace: ocicred}}]
        """.write(toFile: home.file("kubeconfig"), atomically: true, encoding: .utf8)
        let environment = Self.credentialsEnvironment.merging([
            "TMPDIR": shared, "KUBECONFIG": home.file("kubeconfig"), "OCICRED_CONFIG": home.file("config.yaml"),
        ]) { $1 }
        let refreshed = try OcicredBinary.run(
            ["refresh", "--once", "--secret-name", "pull"], home: home.path, extraEnvironment: environment)
        #expect(refreshed.status == 0, "\(refreshed)")
        for writer in Writer.allCases {
            let result = try OcicredBinary.run(
                writer == .helperStore ? ["helper", "list"] : ["authfile", "--registry", Self.registry],
                home: home.path, extraEnvironment: environment)
            #expect(result.status == 0, "\(result)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: shared)
        #expect(left.isEmpty, "written under TMPDIR: \(left)")
    }

    // MARK: - Class 13: --dry-run writes nothing at all

    @Test("configure --dry-run creates no directory, lock or file")
    func dryRunWritesNothing() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let before = try StoreSnapshot(of: [home.path])
        let result = try OcicredBinary.run(
            ["configure", "--registry", Self.registry, "--authfile", home.file("new/dir/auth.json"), "--dry-run"],
            home: home.path)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutText.contains(Self.registry), "the change is shown: \(result)")
        #expect(try StoreSnapshot(of: [home.path]) == before, "the dry run changed the file system")
    }

    // MARK: - Helpers

    /// A home with the config the writers read, and its directories made as ocicred would make them.
    private func prepareHome(_ home: String) throws {
        try makeDirectory(home)
        try Self.staticConfig.write(toFile: home + "/config.yaml", atomically: true, encoding: .utf8)
    }

    @discardableResult
    private func makeDirectory(_ path: String) throws -> String {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }

    private func plant(symlink: String, to target: String) throws {
        try makeDirectory((symlink as NSString).deletingLastPathComponent)
        try FileManager.default.createSymbolicLink(atPath: symlink, withDestinationPath: target)
    }

    /// The GCP fixture as the metadata server: `get gcr.io` mints through it and the token cache.
    private func gcpMetadataEnvironment(_ server: FixtureServer) throws -> [String: String] {
        ["GCE_METADATA_HOST": "127.0.0.1:\(server.port)", "AWS_EC2_METADATA_DISABLED": "true"]
    }
}

import Foundation

/// A three-layer test image written as an OCI layout by Python's tarfile (a real, independent tar writer) and
/// pushed with the real skopeo: gzip, uncompressed and multi-member gzip layers holding a file overwritten in an
/// upper layer, a whiteout, an opaque directory, a symlink, a hard link, an empty file, random files of a few
/// MiB, a PAX long path and xattr, and odd modes (setuid, sticky, 0600, 0711).
package struct LayeredImage {
    package let layout: String
    package let tag = "layered"

    /// Builds the layout under `directory`; `largeFileMiB` > 0 adds `usr/lib/large.bin`, that many MiB of random
    /// bytes, to the top layer (the lazy mount's big-file proofs).
    /// `hostileNames` adds a fourth layer whose entry names try to leave the root (`../`, `a/../../`, a hard
    /// link to `../../etc/passwd`) beside names that only look odd (`./x/../y`, `/abs`, `a//b/./c`).
    /// `runnable` puts a first layer under the others with the host's static busybox as /bin/busybox (and its
    /// applets as symlinks), an /etc/passwd and /etc/group with a user `app` (1000:1000, also in group `extra`
    /// 1001, home /home/app), and gives the config the fields a runtime reads: Entrypoint, Cmd, Env, User `app`,
    /// WorkingDir, Labels, ExposedPorts, a volume. Its default command prints who and where it runs, and its
    /// home's motd.
    /// `privilegeProbes` adds a top layer with `/bin/euid`, a static program owned by root and setuid that prints
    /// `euid=N`, and `/srv/devnode`, a character device 1:3 (what /dev/null is), mode 0666: what other users must
    /// not be able to use through a mount.
    package static func build(
        in directory: TemporaryDirectory, largeFileMiB: Int = 0, hostileNames: Bool = false, runnable: Bool = false,
        privilegeProbes: Bool = false
    ) throws -> LayeredImage {
        try FixtureError.requirePrograms(["python3": "python3", "skopeo": "skopeo"])
        if runnable { try FixtureError.requirePrograms(["busybox": "busybox-static"]) }
        let layout = directory.file("layout")
        let busybox = runnable ? ProcessRunner.resolve("busybox") : ""
        let probe = privilegeProbes ? try compileEuidProbe(in: directory) : ""
        let result = try ProcessRunner.run(
            "python3", ["-c", script, layout, String(largeFileMiB), hostileNames ? "hostile" : "", busybox, probe],
            timeout: 300)
        guard result.status == 0 else {
            throw FixtureError.commandFailed(command: "python3 (layered image)", result: result)
        }
        return LayeredImage(layout: layout)
    }

    /// A static program that prints its effective uid, compiled with the host's cc.
    static func compileEuidProbe(in directory: TemporaryDirectory) throws -> String {
        try FixtureError.requirePrograms(["cc": "gcc"])
        let source = directory.file("euid.c")
        let binary = directory.file("euid")
        let program = """
            #include <stdio.h>
            #include <unistd.h>
            int main(void) { printf("euid=%d\\n", (int)geteuid()); return 0; }

            """
        try Data(program.utf8)
            .write(to: URL(fileURLWithPath: source))
        let result = try ProcessRunner.run("cc", ["-static", "-O2", "-o", binary, source], timeout: 120)
        guard result.status == 0 else { throw FixtureError.commandFailed(command: "cc (euid probe)", result: result) }
        return binary
    }

    /// `skopeo copy oci:LAYOUT:TAG docker://HOST/REPO:TAG` with an auth file (0600) holding the credentials:
    /// the password never appears in an argument.
    package func push(to registry: RegistryFixture, password: String, repository: String, directory: TemporaryDirectory)
        throws
    {
        try push(
            toHost: registry.host, username: registry.username, password: password, repository: repository,
            directory: directory)
    }

    /// The same push to any registry host (a token-auth registry, a proxy in front of one).
    /// `recompress` (`zstd`, say) has skopeo recompress every layer on the way instead of keeping the layout's.
    package func push(
        toHost host: String, username: String, password: String, repository: String, directory: TemporaryDirectory,
        recompress: String? = nil
    ) throws {
        let authFile = try Self.authFile(host: host, username: username, password: password, directory: directory)
        let compression =
            recompress.map { ["--dest-compress", "--dest-compress-format", $0] } ?? ["--preserve-digests"]
        let result = try ProcessRunner.run(
            "skopeo",
            ["copy"] + compression + [
                "--dest-tls-verify=false", "--dest-authfile", authFile,
                "oci:\(layout):\(tag)",
                "docker://\(host)/\(repository):\(tag)",
            ], environment: Self.environment(directory), timeout: 120)
        guard result.status == 0 else {
            throw FixtureError.commandFailed(command: "skopeo copy (push)", result: result)
        }
    }

    /// Pulls `HOST/REPO:TAG` back with skopeo into a fresh OCI layout and unpacks it with `umoci unpack` (as
    /// root, so owners and modes are kept); returns the rootfs path.
    package static func unpackWithUmoci(
        registry: RegistryFixture, password: String, reference: String, directory: TemporaryDirectory
    ) throws -> String {
        try FixtureError.requirePrograms(["umoci": "umoci", "skopeo": "skopeo"])
        let authFile = try authFile(registry: registry, password: password, directory: directory)
        let pulled = directory.file("pulled")
        let copy = try ProcessRunner.run(
            "skopeo",
            ["copy", "--src-tls-verify=false", "--src-authfile", authFile, "docker://\(reference)", "oci:\(pulled):x"],
            environment: environment(directory), timeout: 120)
        guard copy.status == 0 else { throw FixtureError.commandFailed(command: "skopeo copy (pull)", result: copy) }
        let bundle = directory.file("bundle")
        var arguments = ["unpack", "--image", "\(pulled):x", bundle]
        if getuid() != 0 { arguments.insert("--rootless", at: 1) }
        let unpack = try ProcessRunner.run("umoci", arguments, environment: environment(directory), timeout: 120)
        guard unpack.status == 0 else { throw FixtureError.commandFailed(command: "umoci unpack", result: unpack) }
        return bundle + "/rootfs"
    }

    /// `umoci unpack` of the layout itself (no registry involved): the reference tree for images pushed to
    /// registries the umoci/skopeo pair cannot pull from directly. `rootless` asks for umoci's rootless bundle
    /// even as root.
    package func unpackLayoutWithUmoci(directory: TemporaryDirectory, rootless: Bool = false) throws -> String {
        try FixtureError.requirePrograms(["umoci": "umoci"])
        let bundle = directory.file(rootless ? "layout-bundle-rootless" : "layout-bundle")
        var arguments = ["unpack", "--image", "\(layout):\(tag)", bundle]
        if rootless || getuid() != 0 { arguments.insert("--rootless", at: 1) }
        let unpack = try ProcessRunner.run("umoci", arguments, environment: Self.environment(directory), timeout: 300)
        guard unpack.status == 0 else { throw FixtureError.commandFailed(command: "umoci unpack", result: unpack) }
        return bundle + "/rootfs"
    }

    static func authFile(registry: RegistryFixture, password: String, directory: TemporaryDirectory) throws -> String {
        try authFile(host: registry.host, username: registry.username, password: password, directory: directory)
    }

    static func authFile(host: String, username: String, password: String, directory: TemporaryDirectory) throws
        -> String
    {
        let path = directory.file("push-auth.json")
        let auth = Data("\(username):\(password)".utf8).base64EncodedString()
        let json = try JSONSerialization.data(withJSONObject: ["auths": [host: ["auth": auth]]])
        FileManager.default.createFile(atPath: path, contents: json, attributes: [.posixPermissions: 0o600])
        return path
    }

    static func environment(_ directory: TemporaryDirectory) -> [String: String] {
        [
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": directory.path, "TMPDIR": directory.path,
            "CONTAINERS_REGISTRIES_CONF": directory.file("registries.conf"),
        ]
    }

    /// Writes the OCI layout (image-spec image-layout.md). Layer 1 gzip, layer 2 plain tar, layer 3 gzip in two
    /// members.
    static let script = #"""
        import gzip, hashlib, io, json, os, random, sys, tarfile

        out = sys.argv[1]
        large_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 0
        hostile = len(sys.argv) > 3 and sys.argv[3] == "hostile"
        busybox = sys.argv[4] if len(sys.argv) > 4 else ""
        probe = sys.argv[5] if len(sys.argv) > 5 else ""
        rng = random.Random(7)
        os.makedirs(out + "/blobs/sha256", exist_ok=True)

        def blob(data):
            digest = hashlib.sha256(data).hexdigest()
            with open(out + "/blobs/sha256/" + digest, "wb") as f:
                f.write(data)
            return "sha256:" + digest

        def layer(build):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
                def add(name, kind="f", data=b"", mode=0o644, link="", uid=0, gid=0, pax=None):
                    info = tarfile.TarInfo(name)
                    info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, 1700000000
                    if pax: info.pax_headers = pax
                    if kind == "d": info.type = tarfile.DIRTYPE
                    elif kind == "l": info.type, info.linkname = tarfile.SYMTYPE, link
                    elif kind == "h": info.type, info.linkname = tarfile.LNKTYPE, link
                    elif kind == "p": info.type = tarfile.FIFOTYPE
                    elif kind == "c": info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
                    else: info.size = len(data)
                    tar.addfile(info, io.BytesIO(data) if kind == "f" else None)
                build(add)
            return buf.getvalue()

        def text(n):
            words = [b"layer", b"index", b"span", b"window", b"deflate", b"mount"]
            return b" ".join(rng.choice(words) for _ in range(n))[: n * 4]

        APPLETS = ["sh", "id", "cat", "echo", "find", "stat", "ls", "dd", "sha256sum", "sleep", "pwd", "touch", "rm",
                   "mkdir", "sort", "wc", "env", "head", "readlink", "true"]

        def layer0(add):
            for d in ["bin", "etc", "home", "root"]:
                add(d, "d", mode=0o700 if d == "root" else 0o755)
            add("home/app", "d", mode=0o750, uid=1000, gid=1000)
            add("home/app/motd", data=b"lazily read from the image\n", mode=0o640, uid=1000, gid=1000)
            with open(busybox, "rb") as f:
                add("bin/busybox", data=f.read(), mode=0o755)
            for applet in APPLETS:
                add("bin/" + applet, "l", link="busybox")
            add("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n")
            add("etc/group", data=b"root:x:0:\napp:x:1000:\nextra:x:1001:app\n")

        def layer1(add):
            for d in ["etc", "usr", "usr/bin", "usr/lib", "opaque", "opaque/sub", "tmp"]:
                add(d, "d", mode=0o1777 if d == "tmp" else 0o755)
            add("etc/overwritten", data=b"version one\n")
            add("etc/removed", data=b"gone in layer 2\n")
            add("opaque/old", data=b"hidden by the opaque marker\n")
            add("opaque/sub/older", data=b"also hidden\n")
            add("usr/bin/tool", data=text(20000), mode=0o4755)
            add("usr/bin/sh", "l", link="/usr/bin/tool")
            add("usr/lib/big.bin", data=rng.randbytes(3 << 20))
            add("usr/lib/text.txt", data=text(300000))
            add("empty", data=b"")
            long = "deep/" + "/".join("component-%02d" % i for i in range(10)) + "/long-name-file.txt"
            parts = long.split("/")
            for i in range(1, len(parts)):
                add("/".join(parts[:i]), "d")
            add(long, data=b"a path longer than 100 bytes\n", pax={"SCHILY.xattr.user.note": "kept"})

        def layer2(add):
            add("etc", "d")
            add("etc/overwritten", data=b"version two, longer than the first\n", mode=0o640, uid=1000, gid=1000)
            add("etc/.wh.removed")
            add("opaque", "d", mode=0o750)
            add("opaque/.wh..wh..opq")
            add("opaque/new", data=b"only this survives\n", mode=0o600)
            add("data", "d", mode=0o711)
            add("data/original", data=text(5000), mode=0o644)
            add("data/hardlink", "h", link="data/original")
            add("data/fifo", "p", mode=0o600)

        def layer3(add):
            add("usr", "d")
            add("usr/lib", "d")
            add("usr/lib/big2.bin", data=rng.randbytes(2 << 20), mode=0o600)
            add("usr/lib/mixed.txt", data=text(200000) + rng.randbytes(100000))
            add("secret", "d", mode=0o700)
            add("secret/key", data=b"not really\n", mode=0o400)
            if large_mib:
                add("usr/lib/large.bin", data=rng.randbytes(large_mib << 20), mode=0o644)

        def layer4(add):
            add("../escaped-parent", data=b"must not appear anywhere\n")
            add("../../../etc/escaped-etc", data=b"must not appear anywhere\n")
            add("inside/../../escaped-via-inside", data=b"must not appear anywhere\n")
            add("..", "d")
            add("hardlinked", "h", link="../../etc/passwd")
            add("./odd/../kept-after-clean", data=b"clean names stay\n")
            add("/absolute-kept", data=b"a leading slash is only a spelling\n")
            add("dots", "d")
            add("dots/and", "d")
            add("dots//and/./slashes", "d")
            add("dots//and/./slashes/file", data=b"inner dots and empty components are dropped\n")

        def layer5(add):
            add("srv", "d", mode=0o755)
            with open(probe, "rb") as f:
                add("bin/euid", data=f.read(), mode=0o4755)
            add("srv/devnode", "c", mode=0o666)

        builds = [(layer1, "gzip"), (layer2, "none"), (layer3, "multi")] + ([(layer4, "gzip")] if hostile else [])
        if probe:
            builds.append((layer5, "gzip"))
        layers, diff_ids = [], []
        if busybox:
            builds.insert(0, (layer0, "gzip"))
        for i, (build, kind) in enumerate(builds):
            tar = layer(build)
            diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
            if kind == "gzip":
                data, media = gzip.compress(tar, 6, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
            elif kind == "multi":
                half = len(tar) // 2 + 1234
                data = gzip.compress(tar[:half], 6, mtime=0) + gzip.compress(tar[half:], 9, mtime=0)
                media = "application/vnd.oci.image.layer.v1.tar+gzip"
            else:
                data, media = tar, "application/vnd.oci.image.layer.v1.tar"
            layers.append({"mediaType": media, "digest": blob(data), "size": len(data)})

        execution = {}
        if busybox:
            execution = {
                "User": "app", "WorkingDir": "/home/app",
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello"],
                "Entrypoint": ["/bin/sh", "-c"],
                "Cmd": ["echo \"$GREETING from $(id -u):$(id -g) groups $(id -G) in $(pwd) home $HOME\"; "
                        "cat motd"],
                "Labels": {"org.example.team": "lazy"}, "ExposedPorts": {"8080/tcp": {}},
                "Volumes": {"/cache": {}}, "StopSignal": "SIGTERM",
            }
        config = {
            "architecture": "amd64", "os": "linux", "config": execution,
            "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": [],
        }
        if busybox:
            config.update({"created": "2024-05-01T12:00:00Z", "author": "ocicred tests"})
        config = json.dumps(config).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(config),
                       "size": len(config)},
            "layers": layers,
        }).encode()
        index = {"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(manifest),
            "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "layered"},
            "platform": {"architecture": "amd64", "os": "linux"}}]}
        with open(out + "/index.json", "w") as f: json.dump(index, f)
        with open(out + "/oci-layout", "w") as f: json.dump({"imageLayoutVersion": "1.0.0"}, f)
        """#
}

/// One path of an unpacked root filesystem, as `lstat` shows it.
package struct UnpackedEntry: Equatable, Sendable {
    package var kind: String
    package var mode: UInt32
    package var size: Int64
    package var linkTarget: String?
}

extension LayeredImage {
    /// Every path below `rootfs` (relative, no leading slash) with its type, permission bits, size and link.
    package static func walk(_ rootfs: String) -> [String: UnpackedEntry] {
        var result: [String: UnpackedEntry] = [:]
        let enumerator = FileManager.default.enumerator(atPath: rootfs)
        while let relative = enumerator?.nextObject() as? String {
            var info = stat()
            guard lstat(rootfs + "/" + relative, &info) == 0 else { continue }
            let kind: String
            switch info.st_mode & S_IFMT {
            case S_IFDIR: kind = "directory"
            case S_IFLNK: kind = "symlink"
            case S_IFIFO: kind = "fifo"
            case S_IFCHR: kind = "characterDevice"
            case S_IFBLK: kind = "blockDevice"
            default: kind = "file"
            }
            let link =
                kind == "symlink"
                ? try? FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/" + relative) : nil
            result[relative] = UnpackedEntry(
                kind: kind, mode: UInt32(info.st_mode) & 0o7777, size: kind == "file" ? Int64(info.st_size) : 0,
                linkTarget: link)
        }
        return result
    }
}

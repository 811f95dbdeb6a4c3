/// The image config → runtime config conversion of `umoci unpack` (umoci's oci/config/convert `ToRuntimeSpec`
/// over the runtime-tools template, and `--rootless`), so a bundle from `ocicred mount --bundle` runs the image the
/// way the reference unpacker's does: the same args, env, cwd, user and annotations, the same mounts and
/// namespaces. Only the hostname differs.
extension RuntimeSpec {
    /// Annotations for image config fields the runtime spec has no field for (image-spec annotations.md).
    static let osAnnotation = "org.opencontainers.image.os"
    static let architectureAnnotation = "org.opencontainers.image.architecture"
    static let authorAnnotation = "org.opencontainers.image.author"
    static let createdAnnotation = "org.opencontainers.image.created"
    static let stopSignalAnnotation = "org.opencontainers.image.stopSignal"
    static let exposedPortsAnnotation = "org.opencontainers.image.exposedPorts"
    /// What Go prints for a zero `time.Time`: an image config without `created`.
    static let zeroTime = "0001-01-01T00:00:00Z"

    /// Who the container runs as on the host when the bundle is rootless.
    package struct Rootless: Sendable, Equatable {
        package var uidMappings: [IDMapping]
        package var gidMappings: [IDMapping]

        package init(uidMappings: [IDMapping], gidMappings: [IDMapping]) {
            self.uidMappings = uidMappings
            self.gidMappings = gidMappings
        }

        /// Container root is the calling user, and nobody else is mapped (what `umoci unpack --rootless` and
        /// `runc spec --rootless` write).
        package static func callingUser(uid: UInt32, gid: UInt32) -> Rootless {
            Rootless(
                uidMappings: [IDMapping(containerID: 0, hostID: uid, size: 1)],
                gidMappings: [IDMapping(containerID: 0, hostID: gid, size: 1)])
        }
    }

    /// `passwd` and `group`: the image's `/etc/passwd` and `/etc/group`, nil where it has none.
    static func forImage(
        _ image: ImageConfiguration, passwd: [UInt8]?, group: [UInt8]?, rootless: Rootless?, hostname: String
    ) throws(LazyMountError) -> RuntimeSpec {
        if let os = image.os, os != "linux" { throw .bundle(reason: "the image is for \(os); bundles run linux") }
        let config = image.config
        var spec = template(rootless: rootless, hostname: hostname)

        spec.process.cwd = config?.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        for variable in config?.env ?? [] {
            guard let equals = variable.firstIndex(of: "="), equals != variable.startIndex else {
                throw .bundle(reason: "the image's Env holds \"\(variable)\", which is not NAME=value")
            }
            setEnv(&spec.process.env, String(variable[..<equals]), String(variable[variable.index(after: equals)...]))
        }
        let arguments = image.defaultArguments
        if !arguments.isEmpty { spec.process.args = arguments }

        var annotations = config?.labels ?? [:]
        annotations[osAnnotation] = image.os ?? ""
        annotations[architectureAnnotation] = image.architecture ?? ""
        annotations[authorAnnotation] = image.author ?? ""
        annotations[createdAnnotation] = image.created ?? zeroTime
        annotations[stopSignalAnnotation] = config?.stopSignal ?? ""
        annotations[exposedPortsAnnotation] = (config?.exposedPorts ?? [:]).keys.sorted().joined(separator: ",")
        spec.annotations = annotations

        let user = try ExecUser.resolve(config?.user ?? "", passwd: passwd, group: group)
        // A user namespace without privileges may not call setgroups(2): umoci's rootless bundle has no groups.
        let groups = rootless == nil && !user.additionalGids.isEmpty ? user.additionalGids : nil
        spec.process.user = User(uid: user.uid, gid: user.gid, additionalGids: groups)
        if !user.home.isEmpty { setEnv(&spec.process.env, "HOME", user.home) }

        // Volumes become tmpfs mounts, as umoci does (sorted: Go's map order is random, ours need not be).
        let volumes = (config?.volumes ?? [:]).keys.sorted().map {
            Mount(
                destination: $0, type: "tmpfs", source: "none",
                options: ["rw", "nosuid", "nodev", "noexec", "relatime"])
        }
        if rootless != nil {
            // The rootless template ends with its bind mounts; umoci adds volumes before them.
            let binds = spec.mounts.filter { $0.type == "bind" }
            spec.mounts = spec.mounts.filter { $0.type != "bind" } + volumes + binds
        } else {
            spec.mounts += volumes
        }
        return spec
    }

    /// umoci's `appendEnv`: replace the variable where it is set, else append it.
    static func setEnv(_ env: inout [String], _ name: String, _ value: String) {
        let entry = name + "=" + value
        if let existing = env.firstIndex(where: { $0.hasPrefix(name + "=") }) {
            env[existing] = entry
        } else {
            env.append(entry)
        }
    }

    /// The runtime-tools default configuration umoci starts from, and its rootless form: a user namespace with
    /// the given maps instead of a network namespace, /sys and /etc/resolv.conf bound from the host, no cgroup
    /// mount, no devpts gid, no device rules (an unprivileged user may not set them).
    static func template(rootless: Rootless?, hostname: String) -> RuntimeSpec {
        let capabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        var devpts = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]
        if rootless == nil { devpts.append("gid=5") }
        var mounts = [
            Mount(destination: "/proc", type: "proc", source: "proc", options: nil),
            Mount(
                destination: "/dev", type: "tmpfs", source: "tmpfs",
                options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            Mount(destination: "/dev/pts", type: "devpts", source: "devpts", options: devpts),
            Mount(
                destination: "/dev/shm", type: "tmpfs", source: "shm",
                options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            Mount(
                destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
        ]
        var namespaces = ["pid", "network", "ipc", "uts", "mount"]
        if rootless == nil {
            mounts += [
                Mount(
                    destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
                Mount(
                    destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
                    options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
            ]
        } else {
            namespaces = ["pid", "ipc", "uts", "mount", "user"]
            mounts += [
                Mount(
                    destination: "/sys", type: "bind", source: "/sys",
                    options: ["rbind", "nosuid", "noexec", "nodev", "ro"]),
                Mount(
                    destination: "/etc/resolv.conf", type: "bind", source: "/etc/resolv.conf", options: ["rbind", "ro"]),
            ]
        }
        return RuntimeSpec(
            ociVersion: "1.0.0",
            process: Process(
                terminal: true, user: User(uid: 0, gid: 0, additionalGids: nil), args: ["sh"],
                env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"], cwd: "/",
                capabilities: Capabilities(
                    bounding: capabilities, effective: capabilities, inheritable: capabilities,
                    permitted: capabilities, ambient: capabilities),
                rlimits: [Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)], noNewPrivileges: true),
            root: Root(path: "rootfs", readonly: nil),
            hostname: hostname,
            mounts: mounts,
            annotations: nil,
            linux: Linux(
                uidMappings: rootless?.uidMappings, gidMappings: rootless?.gidMappings,
                resources: rootless == nil ? Resources(devices: [DeviceRule(allow: false, access: "rwm")]) : nil,
                namespaces: namespaces.map { Namespace(type: $0, path: nil) },
                maskedPaths: [
                    "/proc/kcore", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                    "/sys/firmware", "/proc/scsi",
                ],
                readonlyPaths: [
                    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
                ]))
    }
}

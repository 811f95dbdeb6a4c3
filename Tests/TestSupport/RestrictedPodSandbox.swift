import Foundation

/// A container as Kubernetes runs one under Pod Security "restricted" on containerd, built for runc from this
/// machine's own programs: a non-root uid, no capabilities at all, no_new_privs, a read-only root (the host's /usr
/// and /etc, bound read-only), only the volumes the pod mounts writable, and the seccomp rule of containerd's
/// RuntimeDefault profile that decides whether a builder works: without CAP_SYS_ADMIN, `unshare` and `setns` are
/// refused and `clone` may not create namespaces (`clone3`, whose flags seccomp cannot read, fails with ENOSYS, as
/// containerd's profile makes it). Everything else an unprivileged process could do stays allowed; mount, chroot
/// and the rest are refused by the missing capabilities, as in the pod. The whole RuntimeDefault profile is not
/// reproduced here: this is the part of it that matters to image builders.
///
/// The container shares the test's network namespace, so a registry the test started on 127.0.0.1 is reachable.
package struct RestrictedPodSandbox {
    /// The pod's volumes: a host directory mounted at a path, writable or not.
    package struct Volume {
        package let hostPath: String, mountPath: String, readOnly: Bool
        package init(hostPath: String, mountPath: String, readOnly: Bool = false) {
            self.hostPath = hostPath
            self.mountPath = mountPath
            self.readOnly = readOnly
        }
    }

    /// CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
    static let namespaceFlags = [
        0x0002_0000, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000,
    ]

    package let uid: Int
    package let runc: Runc
    let directory: TemporaryDirectory

    package init(uid: Int, in directory: TemporaryDirectory) throws {
        self.uid = uid
        self.directory = directory
        runc = try Runc(in: directory)
    }

    /// Runs `arguments` in the sandbox with exactly `environment`, in `workingDirectory`, and returns what it
    /// printed. With `userName`, /etc/passwd and /etc/group name the uid, as an image built for that user does.
    /// The bundle is removed afterwards; runc's `run` removes the container.
    package func run(
        _ arguments: [String], environment: [String: String], workingDirectory: String, volumes: [Volume],
        userName: String? = nil, timeout: Double = 180
    ) throws -> ProcessResult {
        let bundle = directory.file("bundle-\(UUID().uuidString.prefix(8))")
        let rootfs = bundle + "/rootfs"
        let files = FileManager.default
        try files.createDirectory(atPath: rootfs, withIntermediateDirectories: true)
        defer { try? files.removeItem(atPath: bundle) }
        // Mount points in the (read-only) root, and Debian's merged-/usr links.
        var mountPoints = ["usr", "etc", "proc", "dev", "sys", "tmp"]
        mountPoints += volumes.map { String($0.mountPath.dropFirst()) }
        for point in mountPoints {
            try files.createDirectory(atPath: rootfs + "/" + point, withIntermediateDirectories: true)
        }
        for (link, target) in [("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")] {
            try files.createSymbolicLink(atPath: rootfs + "/" + link, withDestinationPath: target)
        }
        var mounts: [[String: Any]] = [
            ["destination": "/proc", "type": "proc", "source": "proc"],
            [
                "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            ],
            ["destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "ro"]],
            ["destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]],
            ["destination": "/etc", "type": "bind", "source": "/etc", "options": ["rbind", "ro"]],
        ]
        if let userName {
            for (file, entry) in [
                ("passwd", "\(userName):x:\(uid):\(uid)::/workspace:/bin/sh"), ("group", "\(userName):x:\(uid):"),
            ] {
                let copy = bundle + "/" + file
                try (String(contentsOfFile: "/etc/" + file, encoding: .utf8) + entry + "\n")
                    .write(toFile: copy, atomically: true, encoding: .utf8)
                mounts.append([
                    "destination": "/etc/" + file, "type": "bind", "source": copy, "options": ["bind", "ro"],
                ])
            }
        }
        for volume in volumes {
            mounts.append([
                "destination": volume.mountPath, "type": "bind", "source": volume.hostPath,
                "options": ["rbind", volume.readOnly ? "ro" : "rw"],
            ])
        }
        let none = [String]()
        let spec: [String: Any] = [
            "ociVersion": "1.0.2",
            "root": ["path": "rootfs", "readonly": true],
            "hostname": "pod",
            "process": [
                "terminal": false, "user": ["uid": uid, "gid": uid], "args": arguments, "cwd": workingDirectory,
                "env": environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
                "noNewPrivileges": true,
                "capabilities": [
                    "bounding": none, "effective": none, "inheritable": none, "permitted": none, "ambient": none,
                ],
                "rlimits": [["type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096]],
            ],
            "mounts": mounts,
            "linux": [
                "namespaces": [["type": "pid"], ["type": "ipc"], ["type": "uts"], ["type": "mount"]],
                "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
                "seccomp": [
                    "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [
                        ["names": ["unshare", "setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1] as [String: Any],
                        ["names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38],
                    ]
                        + Self.namespaceFlags.map { flag -> [String: Any] in
                            // clone with this flag set: (flags & flag) == flag. One rule per flag, since rules are
                            // alternatives and the conditions of one rule must all hold.
                            [
                                "names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                                "args": [["index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"]],
                            ]
                        },
                ] as [String: Any],
            ] as [String: Any],
        ]
        try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys])
            .write(to: URL(fileURLWithPath: bundle + "/config.json"))
        return try runc.run(bundle: bundle, id: "pod-\(UUID().uuidString.prefix(8))", timeout: timeout)
    }
}

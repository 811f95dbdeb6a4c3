/// The image's command, environment, user and working directory in the form `podman run --rootfs` takes: podman
/// gets no image config with a root filesystem, so everything the image would have set is passed explicitly.
extension RuntimeSpec {
    /// `--user UID:GID [--group-add GID…] --workdir CWD --env NAME=value… --rootfs ROOTFS:O ARGS…`: everything
    /// after `podman run [your options]`.
    package func podmanArguments(rootfs: String) -> [String] {
        var arguments = ["--user", "\(process.user.uid):\(process.user.gid)"]
        for gid in process.user.additionalGids ?? [] { arguments += ["--group-add", String(gid)] }
        arguments += ["--workdir", process.cwd]
        for variable in process.env { arguments += ["--env", variable] }
        return arguments + ["--rootfs", rootfs + ":O"] + process.args
    }

    /// `words` quoted for a POSIX shell: `eval "podman run --rm $(ocicred podman-args DIR)"`.
    package static func shellQuoted(_ words: [String]) -> String {
        words.map { word in
            let plain =
                !word.isEmpty
                && word.utf8.allSatisfy {
                    ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                        || [0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x3A, 0x3D, 0x40, 0x5F].contains($0)
                }
            return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}

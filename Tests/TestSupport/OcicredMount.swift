package import Foundation

/// A running `ocicred mount IMAGE DIR`, started like a user would (stdout says "mounted" when DIR is usable).
/// `stop()` unmounts (SIGTERM) and, should that fail, kills the process and detaches the mount, so no test
/// leaves a mount or a process behind.
package final class OcicredMount: @unchecked Sendable {
    package let runner: OcicredProcess
    package var process: Process { runner.process }
    package let mountpoint: String
    /// With `--bundle` the lazy mount is at DIR/lower and an overlay at DIR/rootfs.
    package let isBundle: Bool
    package var logFile: String { runner.logFile }
    private let output = Pipe()

    package init(
        image: String, mountpoint: String, home: String, arguments: [String] = [], environment: [String: String] = [:]
    ) throws {
        self.mountpoint = mountpoint
        isBundle = arguments.contains("--bundle")
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        runner = try OcicredProcess(
            ["mount", image, mountpoint] + arguments, home: home, environment: environment, output: output,
            logName: "mount")
    }

    package var log: String { runner.log }

    /// Waits for the "mounted" line; false when the process exits first or `timeout` passes.
    package func waitUntilMounted(timeout: Double = 120) -> Bool {
        let deadline = Date() + timeout
        let handle = output.fileHandleForReading
        var text = ""
        while Date() < deadline {
            var poll = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            if Glibc.poll(&poll, 1, 200) > 0 {
                let data = handle.availableData
                if data.isEmpty { return false }
                text += String(decoding: data, as: UTF8.self)
                if text.contains("mounted ") {
                    return isBundle
                        ? Self.isMounted(mountpoint + "/lower") && Self.mountType(mountpoint + "/rootfs") != nil
                        : Self.isMounted(mountpoint)
                }
            } else if !process.isRunning {
                return false
            }
        }
        return false
    }

    /// Whether a `fuse.ocicred` filesystem is mounted exactly at `path`.
    package static func isMounted(_ path: String) -> Bool { mountType(path) == "fuse.ocicred" }

    /// The type of the filesystem mounted exactly at `path` (the top one), nil when none is.
    package static func mountType(_ path: String) -> String? {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let mountinfo = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        return mountinfo.split(separator: "\n").last { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4] == resolved
        }.flatMap { line in
            line.components(separatedBy: " - ").last?.split(separator: " ").first.map(String.init)
        }
    }

    package func signal(_ number: Int32) { runner.signal(number) }

    package func waitForExit(timeout: Double = 30) -> Int32? { runner.waitForExit(timeout: timeout) }

    package func stop() {
        runner.stop(grace: 40)
        for path in isBundle ? [mountpoint + "/rootfs", mountpoint + "/lower"] : [mountpoint] {
            while Self.mountType(path) != nil && umount2(path, Int32(MNT_DETACH)) == 0 {}
        }
    }
}

import Foundation

/// A running `ocicred mount IMAGE DIR`, started like a user would (stdout says "mounted" when DIR is usable).
/// `stop()` unmounts (SIGTERM) and, should that fail, kills the process and detaches the mount, so no test
/// leaves a mount or a process behind.
public final class OcicredMount: @unchecked Sendable {
    public let process = Process()
    public let mountpoint: String
    /// With `--bundle` the lazy mount is at DIR/lower and an overlay at DIR/rootfs.
    public let isBundle: Bool
    public let logFile: String
    private let output = Pipe()

    public init(
        image: String, mountpoint: String, home: String, arguments: [String] = [], environment: [String: String] = [:]
    ) throws {
        self.mountpoint = mountpoint
        isBundle = arguments.contains("--bundle")
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        logFile = home + "/mount-\(UUID().uuidString.prefix(6)).log"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: OcicredBinary.path)
        process.arguments = ["mount", image, mountpoint] + arguments
        process.environment = OcicredBinary.environment(home: home, extra: environment)
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: logFile)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// Waits for the "mounted" line; false when the process exits first or `timeout` passes.
    public func waitUntilMounted(timeout: Double = 120) -> Bool {
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
    public static func isMounted(_ path: String) -> Bool { mountType(path) == "fuse.ocicred" }

    /// The type of the filesystem mounted exactly at `path` (the top one), nil when none is.
    public static func mountType(_ path: String) -> String? {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let mountinfo = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        return mountinfo.split(separator: "\n").last { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4] == resolved
        }.flatMap { line in
            line.components(separatedBy: " - ").last?.split(separator: " ").first.map(String.init)
        }
    }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    public func waitForExit(timeout: Double = 30) -> Int32? {
        let deadline = Date() + timeout
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    public func stop() {
        if process.isRunning {
            signal(SIGTERM)
            if waitForExit(timeout: 40) == nil {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        for path in isBundle ? [mountpoint + "/rootfs", mountpoint + "/lower"] : [mountpoint] {
            while Self.mountType(path) != nil && umount2(path, Int32(MNT_DETACH)) == 0 {}
        }
    }
}

internal import FoundationEssentials
package import Logging
package import SystemSupport

/// Bootstraps swift-log once, from `main`: every log line goes to stderr (stdout belongs to the protocol and to
/// payloads), at the level named by OCICRED_LOG_LEVEL.
///
/// The default is `warning`, except for the credential helper, which says nothing on stderr unless asked: its
/// failures are its answer on stdout, and podman shows a helper's stderr to the user as noise.
package enum LogSetup {
    package static func bootstrap(environment: OcicredEnvironment, quietByDefault: Bool = false) -> Logger {
        let requested = environment.logLevel?.lowercased()
        let fallback: Logger.Level = quietByDefault ? .critical : .warning
        let level = requested.flatMap { Logger.Level(rawValue: $0) } ?? fallback
        LoggingSystem.bootstrap { _ in PlainLogHandler(logLevel: level) }
        var logger = Logger(label: "ocicred")
        logger.logLevel = level
        if let requested, Logger.Level(rawValue: requested) == nil {
            logger.warning(
                "OCICRED_LOG_LEVEL is not a level; using \(fallback.rawValue)",
                metadata: ["value": "\(requested)", "levels": "trace, debug, info, notice, warning, error, critical"])
        }
        return logger
    }
}

/// One line per event, for people and for log collectors alike: `2026-05-01T12:00:00Z warning: message
/// (key: value, …)`. No logger label, no source module: they name ocicred's code, not the user's problem.
struct PlainLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
        file: String, function: String, line: UInt
    ) {
        let merged = metadata.merging(explicit ?? [:]) { $1 }
        var text = Date.ISO8601FormatStyle().format(Date()) + " \(level.rawValue): \(message)"
        if !merged.isEmpty {
            text +=
                " (" + merged.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")"
        }
        StandardStream.error.writeIgnoringErrors(text + "\n")
    }
}

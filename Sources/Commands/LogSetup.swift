import Credentials
import Logging
import SystemSupport

/// Bootstraps swift-log once, from `main`: every log line goes to stderr (stdout belongs to the protocol),
/// at the level named by OCICRED_LOG_LEVEL (default `warning`, so a normal helper call prints nothing).
public enum LogSetup {
    public static func bootstrap(environment: OcicredEnvironment) -> Logger {
        let requested = environment.logLevel?.lowercased()
        let level = requested.flatMap { Logger.Level(rawValue: $0) } ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "ocicred")
        logger.logLevel = level
        if let requested, Logger.Level(rawValue: requested) == nil {
            logger.warning("OCICRED_LOG_LEVEL is not a level; using warning",
                metadata: ["value": "\(requested)", "levels": "trace, debug, info, notice, warning, error, critical"])
        }
        return logger
    }
}

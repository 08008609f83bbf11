import Logging

/// A swift-log `LogHandler` that turns every log statement into a schema-v1 `kind: log` event.
///
/// Lines carry `level` (trace→debug, notice→info, warning→warn, critical→fatal), `msg`, the logger's
/// label as `logger`, and the metadata flattened to fields: nested dictionaries become dotted keys
/// (`db.table`), lists become JSON lists of strings, other values their description. A request id
/// found under `request_id`, `requestID`, `request-id` or Hummingbird's `hb.request.id` is written as
/// `request_id`. Events go through an ``OpsightEmitter``, so logging never blocks on I/O.
///
/// ```swift
/// LoggingSystem.bootstrap { label in OpsightLogHandler(label: label, emitter: emitter) }
/// ```
public struct OpsightLogHandler: LogHandler {
    /// Metadata keys read as the request id, in order of preference.
    public static let requestIDKeys = ["request_id", "requestID", "request-id", "hb.request.id"]

    /// The logger's label, written as the `logger` field.
    public let label: String
    /// Where events go.
    public let emitter: OpsightEmitter
    /// Metadata attached to every statement of this logger.
    public var metadata: Logger.Metadata = [:]
    /// The lowest level logged.
    public var logLevel: Logger.Level
    /// Contextual metadata (task locals) added to every statement.
    public var metadataProvider: Logger.MetadataProvider?

    /// Creates a handler for `label` writing into `emitter`.
    public init(
        label: String,
        emitter: OpsightEmitter,
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.emitter = emitter
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    /// Reads or writes one metadata value of this logger.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Emits the statement as a log event.
    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, new in new }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, new in new }
        }
        var fields = Self.flatten(merged)
        fields["logger"] = .string(label)
        if let error = event.error { fields["error"] = .string("\(error)") }
        for key in Self.requestIDKeys {
            if let value = fields.removeValue(forKey: key) {
                fields["request_id"] = value
                break
            }
        }
        emitter.log(level: Self.level(event.level), message: event.message.description, fields: fields)
    }

    /// The schema level of a swift-log level.
    public static func level(_ level: Logger.Level) -> LogLevel {
        switch level {
        case .trace, .debug: .debug
        case .info, .notice: .info
        case .warning: .warn
        case .error: .error
        case .critical: .fatal
        }
    }
}

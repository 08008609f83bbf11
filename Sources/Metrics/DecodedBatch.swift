/// The outcome of decoding a whole ingest body with ``EventDecoder/decodeBatch(_:nowMs:)``.
public struct DecodedBatch: Sendable {
    /// The largest number of ``LineError``s kept; `rejected` still counts all of them.
    public static let maxErrors = 100

    /// Accepted events, in body order.
    public var events: [Event]
    /// The byte range in the body of each accepted event's line (without line ending) or array element;
    /// parallel to `events`, so callers can keep the raw event.
    public var lines: [Range<Int>]
    /// How many lines or elements were rejected in total.
    public var rejected: Int
    /// The first ``maxErrors`` rejections, in body order.
    public var errors: [LineError]

    /// Creates a batch result.
    public init(events: [Event] = [], lines: [Range<Int>] = [], rejected: Int = 0, errors: [LineError] = []) {
        self.events = events
        self.lines = lines
        self.rejected = rejected
        self.errors = errors
    }

    /// The number of accepted events.
    public var accepted: Int { events.count }

    /// Records a rejection, keeping its text only while fewer than ``maxErrors`` are kept.
    mutating func reject(line: Int, _ error: EventDecodingError) {
        rejected += 1
        if errors.count < Self.maxErrors {
            errors.append(LineError(line: line, error: error.description))
        }
    }
}

import Testing

@testable import OpsightMetrics

@Suite struct EventDecoderRejectionTests {
    let decoder = EventDecoder()

    static let longService = String(repeating: "s", count: 129)

    /// Invalid lines and the exact error text returned to the sender.
    static let badLines: [(String, String)] = [
        // JSON syntax, with byte columns.
        ("", "empty line"),
        ("   ", "empty line"),
        (#"{"service":"a""#, "invalid JSON at column 15: expected ',' or '}', found end of line"),
        (#"{"service" "a"}"#, #"invalid JSON at column 12: expected ':', found '"'"#),
        (#"{"service":"a",}"#, "invalid JSON at column 16: expected a string key, found '}'"),
        (
            #"{"service":"a"} x"#,
            "invalid JSON at column 17: unexpected data after the object (one JSON object per line)"
        ),
        (
            #"{"service":"a"}{}"#,
            "invalid JSON at column 16: unexpected data after the object (one JSON object per line)"
        ),
        (#"{"service":'a'}"#, "invalid JSON at column 12: expected a value, found '''"),
        (#"{"service":"a\x"}"#, "invalid JSON at column 14: invalid escape sequence"),
        (#"{"service":"a\u12"}"#, #"invalid JSON at column 14: invalid \u escape (needs 4 hex digits)"#),
        (#"{"service":"a\ud800"}"#, #"invalid JSON at column 14: unpaired surrogate in \u escape"#),
        (#"{"service":"a\udc00\ud800"}"#, #"invalid JSON at column 14: unpaired surrogate in \u escape"#),
        ("{\"service\":\"a\tb\"}", "invalid JSON at column 14: control character in string (must be escaped)"),
        (#"{"service":"a","n":01}"#, "invalid JSON at column 20: invalid number (leading zero)"),
        (#"{"service":"a","n":1.}"#, "invalid JSON at column 20: invalid number"),
        (#"{"service":"a","n":-}"#, "invalid JSON at column 20: invalid number"),
        (#"{"service":"a","n":1e}"#, "invalid JSON at column 20: invalid number"),
        (#"{"service":"a","n":tru}"#, "invalid JSON at column 20: expected a value (true, false or null?)"),
        (#"{"service":"a","n":[1,]}"#, "invalid JSON at column 23: expected a value, found ']'"),
        (#"{"service":"a","n":[1 2]}"#, "invalid JSON at column 23: expected ',' or ']', found '2'"),
        (#"{"service":"a","n":{"a" 1}}"#, "invalid JSON at column 25: expected ':', found '1'"),
        (#"{"service":"a","n":{1:2}}"#, "invalid JSON at column 21: expected a string key, found '1'"),
        (#"{"service":"a","n":{"a":1"#, "invalid JSON at column 26: expected ',' or '}', found end of line"),
        (#"{"service":"a","n":"abc"#, "invalid JSON at column 20: unterminated string"),
        (#"[{"service":"a"}]"#, "expected a JSON object, found an array"),
        (#""service""#, "expected a JSON object, found a string"),
        ("42", "expected a JSON object, found a number"),
        ("null", "expected a JSON object, found a literal"),
        ("x", "invalid JSON at column 1: expected '{', found 'x'"),
        // service.
        ("{}", "service: missing"),
        (#"{"service":""}"#, "service: expected non-empty string"),
        (#"{"service":5}"#, "service: expected non-empty string"),
        (#"{"service":null}"#, "service: missing"),
        (#"{"service":"\#(longService)"}"#, "service: longer than 128 characters"),
        // Requests.
        (#"{"service":"a","status":"200","duration_ms":1,"route":"/"}"#, "status: expected integer"),
        (#"{"service":"a","status":200.0,"duration_ms":1,"route":"/"}"#, "status: expected integer"),
        (#"{"service":"a","status_code":true,"duration_ms":1,"route":"/"}"#, "status_code: expected integer"),
        (#"{"service":"a","status":600,"duration_ms":1,"route":"/"}"#, "status: expected integer 100..599"),
        (#"{"service":"a","status":99,"duration_ms":1,"route":"/"}"#, "status: expected integer 100..599"),
        (#"{"service":"a","status":200,"duration_ms":-1,"route":"/"}"#, "duration_ms: expected number >= 0"),
        (#"{"service":"a","status":200,"duration_ms":"12","route":"/"}"#, "duration_ms: expected number >= 0"),
        (#"{"service":"a","status":200,"latency_ms":"fast","route":"/"}"#, "latency_ms: expected number >= 0"),
        (#"{"service":"a","status":200,"duration_s":-0.5,"route":"/"}"#, "duration_s: expected number >= 0"),
        (
            #"{"service":"a","status":200,"duration":"fast","route":"/"}"#,
            #"duration: expected number >= 0 or duration string like "350ms""#
        ),
        (
            #"{"service":"a","status":200,"duration":"-1s","route":"/"}"#,
            #"duration: expected number >= 0 or duration string like "350ms""#
        ),
        (
            #"{"service":"a","status":200,"duration":"12","route":"/"}"#,
            #"duration: expected number >= 0 or duration string like "350ms""#
        ),
        (#"{"service":"a","status":200,"duration_ms":1e999,"route":"/"}"#, "duration_ms: expected number >= 0"),
        (
            #"{"service":"a","kind":"request","duration_ms":1,"route":"/"}"#,
            "status: missing (required for kind request)"
        ),
        (
            #"{"service":"a","kind":"request","status":200,"route":"/"}"#,
            "duration_ms: missing (required for kind request)"
        ),
        (#"{"service":"a","status":200,"duration_ms":1}"#, "route: missing (route or path required for kind request)"),
        (#"{"service":"a","status":200,"duration_ms":1,"route":5}"#, "route: expected string"),
        (#"{"service":"a","status":200,"duration_ms":1,"path":["/"]}"#, "path: expected string"),
        (#"{"service":"a","status":200,"duration_ms":1,"route":"/","method":5}"#, "method: expected string"),
        // Kind.
        (#"{"service":"a","kind":"metric"}"#, "kind: expected one of request, job, event, log"),
        (#"{"service":"a","kind":1}"#, "kind: expected one of request, job, event, log"),
        // Jobs.
        (#"{"service":"w","job_id":"1","event":"started","job":"x"}"#, "queue: missing (required for kind job)"),
        (#"{"service":"w","job_id":"1","event":"started","queue":"q"}"#, "job: missing (required for kind job)"),
        (
            #"{"service":"w","kind":"job","event":"started","queue":"q","job":"x"}"#,
            "job_id: missing (required for kind job)"
        ),
        (
            #"{"service":"w","job_id":"1","event":"done","queue":"q","job":"x"}"#,
            "event: expected one of enqueued, started, succeeded, failed, retried"
        ),
        (
            #"{"service":"w","job_id":1.5,"event":"started","queue":"q","job":"x"}"#,
            "job_id: expected string or integer"
        ),
        (#"{"service":"w","job_id":"1","event":"started","queue":"","job":"x"}"#, "queue: expected non-empty string"),
        (
            #"{"service":"w","job_id":"1","event":"failed","queue":"q","job":"x","attempt":-1}"#,
            "attempt: expected integer >= 0"
        ),
        (
            #"{"service":"w","job_id":"1","event":"failed","queue":"q","job":"x","duration_ms":"slow"}"#,
            "duration_ms: expected number >= 0"
        ),
        // Named events.
        (#"{"service":"w","event":"signup","entity":{"id":1}}"#, "entity: expected string or number"),
        (#"{"service":"w","kind":"event","event":"signup"}"#, "entity: missing (required for kind event)"),
        (#"{"service":"w","kind":"event","entity":"u1"}"#, "event: missing (required for kind event)"),
        // Logs.
        (#"{"service":"a","level":"loud"}"#, "level: expected one of debug, info, warn, error, fatal"),
        (#"{"service":"a","severity":7}"#, "severity: expected one of debug, info, warn, error, fatal"),
        (#"{"service":"a","msg":5}"#, "msg: expected string"),
        (#"{"service":"a","message":{"text":"x"}}"#, "message: expected string"),
        // Timestamps.
        (#"{"service":"a","ts":"yesterday"}"#, "ts: expected RFC 3339 string (2024-05-01T12:00:00Z) or epoch number"),
        (
            #"{"service":"a","timestamp":"2024-02-30T00:00:00Z"}"#,
            "timestamp: expected RFC 3339 string (2024-05-01T12:00:00Z) or epoch number"
        ),
        (
            #"{"service":"a","ts":"2024-05-01T12:00:00"}"#,
            "ts: expected RFC 3339 string (2024-05-01T12:00:00Z) or epoch number"
        ),
        (#"{"service":"a","ts":true}"#, "ts: expected RFC 3339 string (2024-05-01T12:00:00Z) or epoch number"),
        (#"{"service":"a","ts":"2024-05-01T12:05:00.001Z"}"#, "ts: more than 5 min in the future"),
        (#"{"service":"a","ts":1714478399}"#, "ts: older than the maximum age of 24 h"),
    ]

    @Test(arguments: badLines)
    func rejectsInvalidLinesWithTheReason(line: String, message: String) {
        #expect(decoder.rejection(line) == message)
    }

    @Test func timestampsAtTheLimitsAreAccepted() throws {
        #expect(try decoder.decode(#"{"service":"a","ts":"2024-05-01T12:05:00Z"}"#).timestampMs == testNowMs + 300_000)
        #expect(try decoder.decode(#"{"service":"a","ts":1714478400}"#).timestampMs == testNowMs - 86_400_000)
    }

    @Test func errorsNameTheFieldSeparately() {
        #expect(throws: EventDecodingError(field: "status", reason: "expected integer")) {
            try decoder.decode(#"{"service":"a","status":"x","duration_ms":1,"route":"/"}"#)
        }
        #expect(
            throws: EventDecodingError(field: nil, reason: "invalid JSON at column 2: expected a string key, found 'x'")
        ) {
            try decoder.decode("{x}")
        }
    }

    @Test(
        arguments: [
            ([0x7B, 0x22, 0x73, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D], 7),  // 0xFF is never valid
            ([0x7B, 0x22, 0x73, 0x22, 0x3A, 0x22, 0xC3, 0x22, 0x7D], 7),  // truncated 2-byte sequence
            ([0x7B, 0x22, 0x73, 0x22, 0x3A, 0x22, 0xC0, 0xAF, 0x22, 0x7D], 7),  // overlong "/"
            ([0x7B, 0x22, 0x73, 0x22, 0x3A, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x7D], 7),  // UTF-8 encoded surrogate
            ([0x7B, 0x22, 0x73, 0x22, 0x3A, 0x22, 0xF4, 0x90, 0x80, 0x80, 0x22, 0x7D], 7),  // above U+10FFFF
            ([0x7B, 0x22, 0xE2, 0x82, 0x22, 0x3A, 0x31, 0x7D], 3),  // in a skipped key
        ] as [([UInt8], Int)]
    )
    func rejectsInvalidUTF8WithItsColumn(bytes: [UInt8], column: Int) {
        #expect(throws: EventDecodingError(reason: "invalid UTF-8 at column \(column)")) {
            try decoder.decode(bytes: bytes)
        }
    }

    @Test func rejectsOversizedLinesBeforeScanning() {
        let line = #"{"service":"a","msg":""# + String(repeating: "x", count: 65_536) + #""}"#
        #expect(decoder.rejection(line) == "line exceeds 65536 bytes")
        let small = EventDecoder(configuration: .init(maxLineBytes: 10))
        #expect(small.rejection(#"{"service":"a"}"#) == "line exceeds 10 bytes")
    }

    @Test func rejectsNestingDeeperThanTheLimit() {
        let deep = #"{"service":"a","x":"# + String(repeating: "[", count: 65) + String(repeating: "]", count: 65) + "}"
        #expect(decoder.rejection(deep) == "invalid JSON at column 84: nesting deeper than 64 levels")
        let ok = #"{"service":"a","x":"# + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}"
        #expect(decoder.rejection(ok) == nil)
    }
}

import Testing

@testable import OpsightMetrics

@Suite struct EventDecoderTests {
    let decoder = EventDecoder()

    static let now = testNowMs

    /// Valid lines and the event each must decode to.
    static let goodLines: [(String, Event)] = [
        // Requests: explicit, inferred, every alias of status and duration.
        (
            #"{"ts":"2024-05-01T11:59:00Z","service":"api","kind":"request","route":"/users/:id","method":"get","status":200,"duration_ms":12.5}"#,
            Event(
                timestampMs: now - 60_000,
                service: "api",
                kind: .request,
                route: "/users/:id",
                method: "GET",
                status: 200,
                durationMs: 12.5
            )
        ),
        (
            #"{"service":"api","path":"/users/42/orders?x=1","status":404,"latency_ms":3}"#,
            Event(
                timestampMs: now,
                service: "api",
                kind: .request,
                route: "/users/:id/orders",
                method: "ANY",
                status: 404,
                durationMs: 3
            )
        ),
        (
            #"{"timestamp":1714564790,"service":"api","path":"/","status_code":500,"elapsed_ms":0,"method":"POST"}"#,
            Event(
                timestampMs: now - 10_000,
                service: "api",
                kind: .request,
                route: "/",
                method: "POST",
                status: 500,
                durationMs: 0
            )
        ),
        (
            #"{"time":1714564790.25,"service":"api","route":"/a","http_status":201,"duration_s":0.5}"#,
            Event(
                timestampMs: now - 9_750,
                service: "api",
                kind: .request,
                route: "/a",
                method: "ANY",
                status: 201,
                durationMs: 500
            )
        ),
        (
            #"{"@timestamp":"2024-05-01T14:00:00+02:00","service":"api","route":"/a","status":200,"duration":"1m30s"}"#,
            Event(
                timestampMs: now,
                service: "api",
                kind: .request,
                route: "/a",
                method: "ANY",
                status: 200,
                durationMs: 90_000
            )
        ),
        (
            #"{"ts":"2024-05-01T11:59:59.123456Z","service":"api","route":"/a","status":200,"duration":"250us"}"#,
            Event(
                timestampMs: now - 877,
                service: "api",
                kind: .request,
                route: "/a",
                method: "ANY",
                status: 200,
                durationMs: 0.25
            )
        ),
        (
            #"{"ts":1714564799999,"service":"api","route":"/a","status":200,"duration":"350ms"}"#,
            Event(
                timestampMs: now - 1,
                service: "api",
                kind: .request,
                route: "/a",
                method: "ANY",
                status: 200,
                durationMs: 350
            )
        ),
        (
            #"{"ts":1714564799999.9,"service":"api","route":"/a","status":200,"duration":12}"#,
            Event(
                timestampMs: now - 1,
                service: "api",
                kind: .request,
                route: "/a",
                method: "ANY",
                status: 200,
                durationMs: 12
            )
        ),
        (
            #"{"ts":1.7145648e9,"service":"api","route":"/a","status":200,"duration":"1.5s"}"#,
            Event(
                timestampMs: now,
                service: "api",
                kind: .request,
                route: "/a",
                method: "ANY",
                status: 200,
                durationMs: 1500
            )
        ),
        (
            #"{"ts":"2024-05-01 06:30:00.5-05:30","service":"api","route":"/a","status":200,"duration":"100ns"}"#,
            Event(
                timestampMs: now + 500,
                service: "api",
                kind: .request,
                route: "/a",
                method: "ANY",
                status: 200,
                durationMs: 0.0001
            )
        ),
        (
            #"{"service":"api","path":"/files/9f1c2d3e-4b5a-6789-abcd-ef0123456789/","status":200,"duration_ms":1,"method":"delete"}"#,
            Event(
                timestampMs: now,
                service: "api",
                kind: .request,
                route: "/files/:id",
                method: "DELETE",
                status: 200,
                durationMs: 1
            )
        ),
        (
            #"{"service":"api","path":"/blobs/0123456789abcdef0123/raw#top","status":200,"duration_ms":1}"#,
            Event(
                timestampMs: now,
                service: "api",
                kind: .request,
                route: "/blobs/:id/raw",
                method: "ANY",
                status: 200,
                durationMs: 1
            )
        ),
        // The route wins over the path; the canonical key wins over its aliases, whichever comes first.
        (
            #"{"service":"api","route":"/u/:id","path":"/u/7","status_code":500,"status":200,"latency_ms":2,"duration_ms":1}"#,
            Event(
                timestampMs: now,
                service: "api",
                kind: .request,
                route: "/u/:id",
                method: "ANY",
                status: 200,
                durationMs: 1
            )
        ),
        (
            #"{"service":"api","route":"/x","status":200,"status_code":500,"duration_ms":1,"duration_s":9,"duration":"9s"}"#,
            Event(
                timestampMs: now,
                service: "api",
                kind: .request,
                route: "/x",
                method: "ANY",
                status: 200,
                durationMs: 1
            )
        ),
        (
            #"{"service":"api","route":"/x","status":200,"duration_s":2,"duration":"9s"}"#,
            Event(
                timestampMs: now,
                service: "api",
                kind: .request,
                route: "/x",
                method: "ANY",
                status: 200,
                durationMs: 2000
            )
        ),
        // Jobs.
        (
            #"{"service":"worker","queue":"assessments","job":"score","job_id":123,"event":"succeeded","duration_ms":40,"attempt":2}"#,
            Event(
                timestampMs: now,
                service: "worker",
                kind: .job,
                durationMs: 40,
                queue: "assessments",
                job: "score",
                jobID: "123",
                jobEvent: .succeeded,
                attempt: 2
            )
        ),
        (
            #"{"kind":"job","service":"worker","queue":"q","job":"j","job_id":"abc-1","event":"enqueued"}"#,
            Event(
                timestampMs: now,
                service: "worker",
                kind: .job,
                queue: "q",
                job: "j",
                jobID: "abc-1",
                jobEvent: .enqueued
            )
        ),
        // Named events; entities may be numbers, kept as their literal text.
        (
            #"{"service":"web","event":"document_uploaded","entity":"user-7"}"#,
            Event(timestampMs: now, service: "web", kind: .event, name: "document_uploaded", entity: "user-7")
        ),
        (
            #"{"service":"web","event":"report_viewed","entity":4.5e1}"#,
            Event(timestampMs: now, service: "web", kind: .event, name: "report_viewed", entity: "4.5e1")
        ),
        // Logs: level spellings and aliases, message alias, defaults.
        (
            #"{"service":"api","level":"WARNING","message":"disk"}"#,
            Event(timestampMs: now, service: "api", kind: .log, level: .warn, message: "disk")
        ),
        (
            #"{"service":"api"}"#,
            Event(timestampMs: now, service: "api", kind: .log, level: .info)
        ),
        (
            #"{"service":"api","severity":"Critical","msg":"down","message":"ignored"}"#,
            Event(timestampMs: now, service: "api", kind: .log, level: .fatal, message: "down")
        ),
        (
            #"{"service":"api","lvl":"err"}"#,
            Event(timestampMs: now, service: "api", kind: .log, level: .error)
        ),
        (
            #"{"service":"api","level":50}"#,
            Event(timestampMs: now, service: "api", kind: .log, level: .error)
        ),
        (
            #"{"service":"api","level":"panic","lvl":"debug"}"#,
            Event(timestampMs: now, service: "api", kind: .log, level: .fatal)
        ),
        // An explicit kind wins over inference; null counts as absent.
        (
            #"{"service":"api","kind":"log","status":200,"duration_ms":3}"#,
            Event(timestampMs: now, service: "api", kind: .log, level: .info)
        ),
        (
            #"{"service":"api","status":null,"duration_ms":5,"msg":null,"ts":null}"#,
            Event(timestampMs: now, service: "api", kind: .log, level: .info)
        ),
        // Status without a duration, or job_id without event, is not enough to infer a kind.
        (
            #"{"service":"api","status":200,"job_id":"1"}"#,
            Event(timestampMs: now, service: "api", kind: .log, level: .info)
        ),
        // Escapes in kept values and in keys; unknown fields of every JSON type are skipped.
        (
            #"{"service":"a\u00e9\"b\\","msg":"smile \ud83d\ude00\n\t\/"}"#,
            Event(timestampMs: now, service: "aé\"b\\", kind: .log, level: .info, message: "smile 😀\n\t/")
        ),
        (
            #"{"serv\u0069ce":"api","path":"\/users\/5","status":200,"duration_ms":1}"#,
            Event(
                timestampMs: now,
                service: "api",
                kind: .request,
                route: "/users/:id",
                method: "ANY",
                status: 200,
                durationMs: 1
            )
        ),
        (
            #"{"service":"api","extra":{"x":[1,2,{"y":null}],"z":true,"w":false},"n":-1.5e3,"e":[],"o":{},"s":"\u2028","msg":"hi"}"#,
            Event(timestampMs: now, service: "api", kind: .log, level: .info, message: "hi")
        ),
        (
            "  {\t\"service\" : \"api\" ,\"msg\":\"ünïcødé ✓\"}  \r",
            Event(timestampMs: now, service: "api", kind: .log, level: .info, message: "ünïcødé ✓")
        ),
        // A service name of exactly 128 characters (multi-byte ones count once).
        (
            #"{"service":"\#(String(repeating: "é", count: 128))"}"#,
            Event(timestampMs: now, service: String(repeating: "é", count: 128), kind: .log, level: .info)
        ),
    ]

    @Test(arguments: goodLines)
    func decodesValidLines(line: String, expected: Event) throws {
        let event = try decoder.decode(line)
        #expect(event == expected)
    }

    @Test func configuredAliasesAddToTheDefaults() throws {
        let decoder = EventDecoder(
            configuration: .init(aliases: [
                "svc": "service", "took": "duration", "took_s": "duration_s", "x": "nonsense",
            ])
        )
        let event = try decoder.decode(#"{"svc":"api","route":"/a","status":200,"took":"2ms"}"#)
        #expect(event.service == "api")
        #expect(event.durationMs == 2)
        #expect(try decoder.decode(#"{"svc":"api","route":"/a","status":200,"took_s":3}"#).durationMs == 3000)
        // The canonical key still wins over a configured alias.
        #expect(try decoder.decode(#"{"service":"b","svc":"api"}"#).service == "b")
        #expect(try decoder.decode(#"{"svc":"api","service":"b"}"#).service == "b")
        // Unknown alias targets are ignored rather than breaking decoding.
        #expect(try decoder.decode(#"{"service":"a","x":1}"#).kind == .log)
    }

    @Test func defaultAliasesAreDescribedForConfigurationValidation() {
        #expect(EventDecoder.defaultAliases["latency_ms"] == "duration_ms")
        #expect(EventDecoder.defaultAliases["@timestamp"] == "ts")
        #expect(EventDecoder.defaultAliases["message"] == "msg")
        #expect(EventDecoder.fieldNames.contains("duration_s"))
        #expect(!EventDecoder.fieldNames.contains("latency"))
    }

    @Test(arguments: [
        ("warning", LogLevel.warn), ("WARN", .warn), ("Err", .error), ("critical", .fatal), ("PANIC", .fatal),
        ("trace", .debug), ("Info", .info), ("fatal", .fatal),
    ])
    func logLevelsParseCaseInsensitively(text: String, level: LogLevel) {
        #expect(LogLevel(parsing: text) == level)
    }

    @Test func slotStorageCoversEveryField() {
        #expect(FieldKey.Field.count == FieldKey.Field.allCases.count)
    }

    @Test func rawStringsRoundTrip() {
        for kind in EventKind.allCases { #expect(EventKind(rawString: kind.rawString) == kind) }
        for type in JobEventType.allCases { #expect(JobEventType(rawString: type.rawString) == type) }
        for level in LogLevel.allCases { #expect(LogLevel(parsing: level.rawString) == level) }
        #expect(EventKind.allCases.map(\.rawValue) == [0, 1, 2, 3])
    }
}

import Testing

@testable import OpsightMetrics

/// SPEC §4: identity fields are at most 256 bytes with no control characters; a line breaking that is rejected
/// with the field named, and the good lines beside it are still accepted.
@Suite struct IdentityFieldTests {
    let decoder = EventDecoder()

    static let bytes257 = String(repeating: "r", count: 257)
    static let bytes256 = String(repeating: "r", count: 256)
    /// 86 characters (within the 128 the service may have) but 258 bytes.
    static let wideService = String(repeating: "€", count: 86)

    static func request(_ extra: String) -> String {
        #"{"service":"a","status":200,"duration_ms":1,"route":"/r",\#(extra)}"#
    }

    static func job(_ extra: String) -> String {
        #"{"service":"w","kind":"job","event":"started","queue":"q","job":"x","job_id":"1",\#(extra)}"#
    }

    /// Each identity field with a control character or too many bytes, and the exact error.
    static let badLines: [(String, String)] = [
        (#"{"service":"a\u0000b"}"#, "service: control character U+0000 not allowed"),
        (#"{"service":"a\u001fb"}"#, "service: control character U+001F not allowed"),
        ("{\"service\":\"a\u{7F}\"}", "service: control character U+007F not allowed"),
        (#"{"service":"\#(wideService)"}"#, "service: longer than 256 bytes"),
        (request(#""route":"/a\u0000""#), "route: control character U+0000 not allowed"),
        (request(#""route":"\#(bytes257)""#), "route: longer than 256 bytes"),
        (
            #"{"service":"a","status":200,"duration_ms":1,"path":"/x\u0000y"}"#,
            "path: control character U+0000 not allowed"
        ),
        (
            #"{"service":"a","status":200,"duration_ms":1,"path":"/\#(bytes257)"}"#,
            "path: longer than 256 bytes"
        ),
        (request(#""method":"GE\u0000T""#), "method: control character U+0000 not allowed"),
        (request(#""method":"G\nET""#), "method: control character U+000A not allowed"),
        (request(#""method":"\#(bytes257)""#), "method: longer than 256 bytes"),
        (
            #"{"service":"w","kind":"job","event":"started","queue":"q\u0000","job":"x","job_id":"1"}"#,
            "queue: control character U+0000 not allowed"
        ),
        (
            #"{"service":"w","kind":"job","event":"started","queue":"\#(bytes257)","job":"x","job_id":"1"}"#,
            "queue: longer than 256 bytes"
        ),
        (
            #"{"service":"w","kind":"job","event":"started","queue":"q","job":"x\u0007","job_id":"1"}"#,
            "job: control character U+0007 not allowed"
        ),
        (
            #"{"service":"w","kind":"job","event":"started","queue":"q","job":"\#(bytes257)","job_id":"1"}"#,
            "job: longer than 256 bytes"
        ),
        (
            #"{"service":"w","kind":"job","event":"started","queue":"q","job":"x","job_id":"1\u0000"}"#,
            "job_id: control character U+0000 not allowed"
        ),
        (
            #"{"service":"w","kind":"job","event":"started","queue":"q","job":"x","job_id":\#(String(repeating: "9", count: 257))}"#,
            "job_id: longer than 256 bytes"
        ),
        (#"{"service":"w","event":"sign\u0000up","entity":"u1"}"#, "event: control character U+0000 not allowed"),
        (#"{"service":"w","event":"\#(bytes257)","entity":"u1"}"#, "event: longer than 256 bytes"),
        (#"{"service":"w","event":"signup","entity":"u\u0000"}"#, "entity: control character U+0000 not allowed"),
        (#"{"service":"w","event":"signup","entity":"\#(bytes257)"}"#, "entity: longer than 256 bytes"),
    ]

    @Test(arguments: badLines)
    func rejectsIdentityFieldsThatNoStoreCanKeep(line: String, message: String) {
        #expect(decoder.rejection(line) == message)
    }

    @Test func acceptsIdentityFieldsAtTheLimit() throws {
        let event = try decoder.decode(Self.request(#""method":"\#(Self.bytes256)","route":"\#(Self.bytes256)""#))
        #expect(event.route?.utf8.count == 256)
        #expect(event.method?.utf8.count == 256)
        // Escapes that are no control characters stay allowed.
        let tab = try decoder.decode(#"{"service":"a\u00e9\"b","msg":"x\u0000y"}"#)
        #expect(tab.service == "aé\"b")
        #expect(tab.message == "x\u{0}y")
    }

    @Test func namesAConfiguredEntityFieldAsTheLineSpellsIt() {
        let keyed = EventDecoder(configuration: .init(aliases: ["user_id": "entity"]))
        #expect(
            keyed.rejection(#"{"service":"w","event":"signup","user_id":"u\u0000"}"#)
                == "user_id: control character U+0000 not allowed")
    }

    @Test func anOptionalEntityThatIsNoIdentityIsLeftUnused() throws {
        let event = try decoder.decode(Self.request(#""entity":"u\u0000""#))
        #expect(event.entity == nil)
        #expect(try decoder.decode(Self.job(#""entity":"u1""#)).entity == "u1")
    }

    @Test func goodLinesBesideAPoisonedOneAreAccepted() {
        let body = [
            Self.request(#""method":"GET""#),
            #"{"service":"a\u0000","status":200,"duration_ms":1,"route":"/r"}"#,
            Self.job(#""attempt":1"#),
        ].joined(separator: "\n")
        let batch = decoder.decodeBatch(body)
        #expect(batch.accepted == 2)
        #expect(batch.rejected == 1)
        #expect(batch.errors.map(\.line) == [2])
        #expect(batch.errors.map(\.error) == ["service: control character U+0000 not allowed"])
    }
}

import Testing

@testable import OpsightMetrics

@Suite struct DecodeBatchTests {
    let decoder = EventDecoder()

    static let good = #"{"service":"api","route":"/a","status":200,"duration_ms":5}"#
    static let bad = #"{"service":"api","route":"/a","status":"200","duration_ms":5}"#

    /// The bytes of `body` at `range`, as text.
    func text(_ body: String, _ range: Range<Int>) -> String {
        String(decoding: Array(body.utf8)[range], as: UTF8.self)
    }

    @Test func blankLinesAreSkippedButNumberedAndCRLFIsAccepted() {
        let body = "\(Self.good)\r\n\r\n   \n\t\r\n\(Self.bad)\r\n\(Self.good)"
        let batch = decoder.decodeBatch(body)
        #expect(batch.accepted == 2)
        #expect(batch.rejected == 1)
        #expect(batch.errors == [LineError(line: 5, error: "status: expected integer")])
        #expect(batch.lines.map { text(body, $0) } == [Self.good, Self.good])
    }

    @Test func aBadLineDoesNotSpoilItsNeighbours() {
        let lines = [Self.good, "{not json", Self.good, #"{"service":""}"#, Self.good, ""]
        let batch = decoder.decodeBatch(lines.joined(separator: "\n"))
        #expect(batch.accepted == 3)
        #expect(batch.rejected == 2)
        #expect(batch.errors.map(\.line) == [2, 4])
        #expect(batch.errors[0].error == "invalid JSON at column 2: expected a string key, found 'n'")
        #expect(batch.errors[1].error == "service: expected non-empty string")
    }

    @Test(arguments: ["", "\n", "\r\n\r\n", "   \n \n"])
    func emptyBodiesAcceptAndRejectNothing(body: String) {
        let batch = decoder.decodeBatch(body)
        #expect(batch.accepted == 0)
        #expect(batch.rejected == 0)
    }

    @Test func invalidUTF8OnlyRejectsItsOwnLine() {
        var body = Array("\(Self.good)\n".utf8)
        body += Array(#"{"service":"a","msg":""#.utf8) + [0xC3, 0x28] + Array("\"}\n".utf8)
        body += Array(Self.good.utf8)
        let batch = decoder.decodeBatch(bytes: body)
        #expect(batch.accepted == 2)
        #expect(batch.errors == [LineError(line: 2, error: "invalid UTF-8 at column 23")])
    }

    @Test func oversizedLinesAreRejectedAlone() {
        let huge = #"{"service":"a","msg":""# + String(repeating: "x", count: 70_000) + #""}"#
        let batch = decoder.decodeBatch([Self.good, huge, Self.good].joined(separator: "\n"))
        #expect(batch.accepted == 2)
        #expect(batch.errors == [LineError(line: 2, error: "line exceeds 65536 bytes")])
    }

    @Test func onlyTheFirstHundredErrorsAreKeptButAllAreCounted() {
        var lines = Array(repeating: Self.bad, count: 250)
        lines.insert(Self.good, at: 0)
        lines.append(Self.good)
        let batch = decoder.decodeBatch(lines.joined(separator: "\n") + "\n")
        #expect(batch.accepted == 2)
        #expect(batch.rejected == 250)
        #expect(batch.errors.count == DecodedBatch.maxErrors)
        #expect(batch.errors.first?.line == 2)
        #expect(batch.errors.last?.line == 101)
    }

    @Test func jsonArrayBodiesAreDecodedPerElement() {
        let body = " [\n \(Self.good) ,\(Self.bad),\r\n\(Self.good)] \n"
        let batch = decoder.decodeBatch(body)
        #expect(batch.accepted == 2)
        #expect(batch.errors == [LineError(line: 2, error: "status: expected integer")])
        #expect(batch.lines.map { text(body, $0) } == [Self.good, Self.good])
    }

    @Test(
        arguments: [
            ("[]", 0, [LineError]()),
            (" [ ] ", 0, []),
            ("[1, {\"service\":\"a\"}]", 1, [LineError(line: 1, error: "expected a JSON object, found a number")]),
            (
                "[\(good), {\"service\":\"a\"", 1,
                [LineError(line: 2, error: "invalid JSON at column 15: expected ',' or '}', found end of line")]
            ),
            (
                "[\(good) \(good)]", 1,
                [
                    LineError(
                        line: 2,
                        error: "invalid JSON at column 62: expected ',' or ']' after array element, found '{'"
                    )
                ]
            ),
            (
                "[\(good)] x", 1,
                [LineError(line: 2, error: "invalid JSON at column 63: unexpected data after the array")]
            ),
            ("[\(good),]", 1, [LineError(line: 2, error: "invalid JSON at column 1: expected a value, found ']'")]),
        ] as [(String, Int, [LineError])]
    )
    func malformedArrayBodiesKeepTheElementsBeforeTheBreak(body: String, accepted: Int, errors: [LineError]) {
        let batch = decoder.decodeBatch(body)
        #expect(batch.accepted == accepted)
        #expect(batch.errors == errors)
        #expect(batch.rejected == errors.count)
    }

    @Test func oversizedArrayElementsAreRejected() {
        let small = EventDecoder(configuration: .init(maxLineBytes: 20))
        let batch = small.decodeBatch(#"[{"service":"a"}, {"service":"a","msg":"long message"}]"#)
        #expect(batch.accepted == 1)
        #expect(batch.errors == [LineError(line: 2, error: "element exceeds 20 bytes")])
    }

    @Test func linesAreParallelToEventsAndPointIntoTheBody() throws {
        var rng = SplitMix64(seed: 3)
        var lines: [String] = []
        for i in 0..<500 {
            switch rng.next() % 4 {
            case 0: lines.append(#"{"service":"s\#(i)","route":"/r","status":200,"duration_ms":\#(i)}"#)
            case 1: lines.append(#"{"service":"s\#(i)","status":"bad","duration_ms":1}"#)
            case 2: lines.append("")
            default: lines.append(#"{"service":"s\#(i)","msg":"m"}"#)
            }
        }
        let body = lines.joined(separator: "\n")
        let batch = decoder.decodeBatch(body)
        #expect(batch.events.count == batch.lines.count)
        for (event, range) in zip(batch.events, batch.lines) {
            let line = text(body, range)
            #expect(try decoder.decode(line) == event)
        }
        #expect(batch.accepted + batch.rejected == lines.filter { !$0.isEmpty }.count)
    }
}

import Testing

@testable import OpsightMetrics

@Suite struct DurationParserTests {
    func parse(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { DurationParser.milliseconds($0) }
    }

    @Test(arguments: [
        ("350ms", 350.0), ("1.2s", 1200), ("1m30s", 90_000), ("250us", 0.25), ("250µs", 0.25), ("250μs", 0.25),
        ("100ns", 0.0001), ("2h", 7_200_000), ("1h2m3.5s", 3_723_500), ("0", 0), ("+5ms", 5), ("-5ms", -5),
        (".5s", 500), ("0.000s", 0),
    ])
    func parsesGoDurations(text: String, ms: Double) {
        #expect(parse(text) == ms)
    }

    @Test(arguments: ["", "12", "ms", "5 ms", "5sec", "5d", "1.2.3s", "-", "5m3", "s5", "--5s"])
    func rejectsOtherStrings(text: String) {
        #expect(parse(text) == nil)
    }
}

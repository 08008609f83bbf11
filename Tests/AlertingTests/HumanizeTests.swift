import Testing

@testable import Alerting

/// Expected strings are Prometheus's own (`template/template_test.go`) and the SPEC's examples.
@Suite struct HumanizeTests {
    static func run(_ function: String, _ values: [Double]) throws -> String {
        let template = try Template("{{ range . }}{{ \(function) . }}:{{ end }}", name: "test")
        return try template.execute(TemplateData(dot: .list(values.map { .float($0) })))
    }

    @Test(
        arguments: [
            ("humanize", [0, 1, 1_234_567, 0.12], "0:1:1.235M:120m:"),
            ("humanize", [-1_234_567, 1e-9, 123], "-1.235M:1n:123:"),
            ("humanize1024", [0, 1, 1_048_576, 0.12], "0:1:1Mi:0.12:"),
            (
                "humanizeDuration",
                [0, 1, 60, 3600, 86400, 86400 + 3600, -(86400 * 2 + 3600 * 3 + 60 * 4 + 5), 899.99],
                "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"
            ),
            (
                "humanizeDuration", [0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345],
                "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
            ),
            ("humanizeDuration", [3661], "1h 1m 1s:"),
            ("humanizePercentage", [0, 0.1234567, 1.23456, 12.3456], "0%:12.35%:123.5%:1235%:"),
            ("humanizePercentage", [0.1234], "12.34%:"),
            ("humanizeTimestamp", [1_435_065_584.128], "2015-06-23 13:19:44.128 +0000 UTC:"),
            ("humanize", [.infinity, -.infinity, .nan], "+Inf:-Inf:NaN:"),
        ] as [(String, [Double], String)])
    func formatsAsPrometheus(function: String, values: [Double], expected: String) throws {
        #expect(try Self.run(function, values) == expected)
    }

    @Test func humanizeAcceptsNumericStrings() throws {
        let template = try Template(#"{{ humanize "1234567" }}"#, name: "test")
        #expect(try template.execute(TemplateData(dot: .null)) == "1.235M")
    }
}

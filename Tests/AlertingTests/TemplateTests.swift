import Testing

@testable import Alerting

@Suite struct TemplateTests {
    static let data = TemplateData.alert(
        labels: ["__name__": "opsight_service_error_ratio", "service": "api", "window": "5m"], value: 0.0625,
        externalURL: "http://opsight.example:9400/prefix")

    static func expand(_ text: String, _ data: TemplateData = data) throws -> String {
        try Template(text, name: "__alert_A").expand(data)
    }

    @Test(
        arguments: [
            ("{{ $value }}", "0.0625"),
            ("{{ .Value }}", "0.0625"),
            ("{{ $labels.service }}/{{ .Labels.window }}", "api/5m"),
            ("[{{ $labels.missing }}]", "[]"),
            ("{{ $externalURL }}", "http://opsight.example:9400/prefix"),
            ("{{ .ExternalURL }}", "http://opsight.example:9400/prefix"),
            ("{{ $value | humanizePercentage }}", "6.25%"),
            ("{{ humanizePercentage $value }}", "6.25%"),
            (#"{{ printf "%.2f" $value }}"#, "0.06"),
            (#"{{ printf "%s is at %.1f%%" $labels.service 6.25 }}"#, "api is at 6.2%"),
            (#"{{ printf "%d" 3 }} {{ printf "%5.1f|" 2.25 }} {{ printf "%v" $value }}"#, "3   2.2| 0.0625"),
            (#"{{ printf "%d" $value }}"#, "%!d(float64=0.0625)"),
            ("{{ if gt $value 0.05 }}high{{ else }}low{{ end }}", "high"),
            ("{{ if lt $value 0.05 }}high{{ else if eq $labels.service \"api\" }}api{{ else }}low{{ end }}", "api"),
            ("a  {{- \" b \" -}}  c", "a b c"),
            ("{{/* a comment */}}x", "x"),
            ("{{ $labels.service | toUpper }} {{ title \"hello world\" }}", "API Hello World"),
            ("{{ $x := humanize 1234567 }}{{ $x }}", "1.235M"),
            (#"{{ reReplaceAll "(a)(p)" "$2$1" $labels.service }}"#, "pai"),
            ("{{ pathPrefix }}", "/prefix"),
            ("{{ len $labels }}", "3"),
            ("literal only", "literal only"),
        ] as [(String, String)])
    func expandsAsPrometheus(text: String, expected: String) throws {
        #expect(try Self.expand(text) == expected)
    }

    @Test(
        arguments: [
            (1_234_567.0, "1.234567e+06"), (123_456.0, "123456"), (3.0, "3"), (1e-5, "1e-05"), (0.0001, "0.0001"),
            (.nan, "NaN"), (-.infinity, "-Inf"), (1e21, "1e+21"),
        ] as [(Double, String)])
    func printsValuesAsGoPrintsFloat64(value: Double, expected: String) throws {
        #expect(try Self.expand("{{ $value }}", TemplateData.alert(labels: [:], value: value)) == expected)
    }

    @Test func rendersRuntimeErrorsAsPrometheus() throws {
        #expect(
            try Self.expand(#"x {{ humanize "abc" }}"#)
                == #"<error expanding template: error executing template __alert_A: template: __alert_A:1: executing "__alert_A": error calling humanize: strconv.ParseFloat: parsing "abc": invalid syntax>"#
        )
    }

    @Test(
        arguments: [
            ("{{ nosuch }}", #"template: t:1: function "nosuch" not defined"#),
            ("{{ $nope }}", #"template: t:1: undefined variable "$nope""#),
            ("line1\n{{ $value ", "template: t:2: unclosed action"),
            ("{{ if $value }}x", "template: t:1: unexpected EOF"),
            ("{{ end }}", "template: t:1: unexpected {{end}}"),
            (#"{{ "abc }}"#, "template: t:1: unclosed action"),
            (
                "{{ query \"up\" }}",
                #"template: t:1: function "query" is not supported by Opsight (templates cannot run queries)"#
            ),
        ] as [(String, String)])
    func rejectsTemplatesThatDoNotParse(text: String, expected: String) {
        #expect(throws: TemplateError.self) { try Template(text, name: "t") }
        do {
            _ = try Template(text, name: "t")
        } catch {
            #expect(error.description == expected)
        }
    }
}

import Testing

@testable import HTTPLayer

/// Query strings and form bodies of the Prometheus API decode the same way, and bad escapes never trap.
@Suite struct FormDecodingTests {
    static let cases: [(String, [String])] = [
        ("match%5B%5D=up%7Bjob%3D%22a%22%7D", ["match[]", "up{job=\"a\"}"]),
        ("query=sum+by+(service)+(x)", ["query", "sum by (service) (x)"]),
        ("query=a%2Bb", ["query", "a+b"]),
        ("query=100%25", ["query", "100%"]),
        ("query=%zz%", ["query", "%zz%"]),
        ("time=", ["time", ""]),
        ("flag", ["flag", ""]),
        ("a=1&&b=2", ["a", "1", "b", "2"]),
        ("x=a=b", ["x", "a=b"]),
    ]

    @Test(arguments: cases) func decodesLikeAForm(_ text: String, _ expected: [String]) {
        #expect(RequestParameters.formDecode(text).flatMap { [$0.0, $0.1] } == expected)
    }
}

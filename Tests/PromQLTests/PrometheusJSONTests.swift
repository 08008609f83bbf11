import Foundation
import Testing

@testable import PromQL

@Suite struct PrometheusJSONTests {
    @Test func rendersInstantVectors() {
        let value = Value.vector([
            Sample(labels: ["__name__": "up", "job": "a<b>"], value: 1),
            Sample(labels: ["path": "/\"q\"\n"], value: .infinity),
        ])
        #expect(
            PrometheusJSON.instant(value, at: 1_435_781_451_781)
                == #"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\u003cb\u003e"},"value":[1435781451.781,"1"]},"#
                + #"{"metric":{"path":"/\"q\"\n"},"value":[1435781451.781,"+Inf"]}]}"#)
        #expect(PrometheusJSON.instant(.vector([]), at: 0) == #"{"resultType":"vector","result":[]}"#)
    }

    @Test func rendersScalars() {
        #expect(PrometheusJSON.instant(.scalar(0.05), at: 1_000) == #"{"resultType":"scalar","result":[1,"0.05"]}"#)
    }

    @Test func rendersMatrices() {
        let series = [
            Series(labels: ["job": "a"], points: [Point(timestamp: 0, value: 1e-7), Point(timestamp: 10, value: .nan)])
        ]
        #expect(
            PrometheusJSON.matrix(series)
                == #"{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[[0,"1e-07"],[0.010,"NaN"]]}]}"#)
    }

    /// Unix ms → seconds as Prometheus writes them.
    static let timestamps: [(Int64, String)] = [
        (0, "0"), (1_000, "1"), (1_010, "1.010"), (1_001, "1.001"), (1_100, "1.100"), (1_795_312_800_000, "1795312800"),
        (-1_500, "-1.500"),
    ]

    @Test(arguments: timestamps)
    func formatsTimestamps(milliseconds: Int64, expected: String) {
        #expect(PrometheusJSON.timestamp(milliseconds) == expected)
    }
}

/// The byte-level float decomposition and the fast paths of the JSON writer against the plain implementations they
/// replaced, over random and hostile values.
@Suite struct FastFormattingTests {
    /// The decomposition as it was written first (splitting and replacing `description`): the oracle.
    static func referenceDecompose(_ value: Double) -> (sign: String, digits: String, point: Int) {
        let sign = value.sign == .minus ? "-" : ""
        let text = value.magnitude.description
        let parts = text.split(separator: "e")
        let mantissa = parts[0]
        let exponent = parts.count > 1 ? Int(parts[1].replacing("+", with: "")) ?? 0 : 0
        var digits = mantissa.replacing(".", with: "")
        var point =
            (mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) }
                ?? mantissa.count) + exponent
        while digits.first == "0" && digits.count > 1 {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0" && digits.count > 1 { digits.removeLast() }
        return (sign, digits == "0" ? "0" : String(digits), point)
    }

    /// Go's `'f'` and `'e'` forms assembled from the reference decomposition with strings, as they were written first.
    static func referenceFixed(_ value: Double) -> String {
        let (sign, digits, point) = referenceDecompose(value)
        if digits == "0" { return sign + "0" }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
        let split = digits.index(digits.startIndex, offsetBy: point)
        return sign + digits[..<split] + "." + digits[split...]
    }

    static func referenceExponent(_ value: Double) -> String {
        let (sign, digits, point) = referenceDecompose(value)
        let exponent = digits == "0" ? 0 : point - 1
        let mantissa = digits.count > 1 ? digits.prefix(1) + "." + digits.dropFirst() : digits
        let magnitude = String(exponent.magnitude)
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" : "") + magnitude
    }

    @Test func floatsDecomposeAsBefore() {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [
            0, -0.0, 1, -1, 0.1, 1e-7, 1.5e21, 1e300, -1e300, 5e-324, .leastNormalMagnitude, .greatestFiniteMagnitude,
            123_456_789_012_345_680, 0.000_001, 1e-6, 1e21, 9_007_199_254_740_993, Double(Int64.max), 100, 1234.5,
        ]
        // 20 000 random values: 100 000 took 8 s of a debug build, a quarter of the unit tests' first half minute.
        for _ in 0..<10_000 {
            values.append(Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng)))
            values.append(Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 1000)
        }
        for v in values where v.isFinite {
            let (a, b) = (FloatFormat.decompose(v), Self.referenceDecompose(v))
            #expect(a.sign == b.sign && a.digits == b.digits && a.point == b.point, "\(v)")
            #expect(Double(FloatFormat.prometheus(v)) == v, "\(v) as \(FloatFormat.prometheus(v))")
            // The bytes written in place equal Go's forms assembled from strings.
            let m = v.magnitude
            let go = m != 0 && (m < 1e-6 || m >= 1e21) ? Self.referenceExponent(v) : Self.referenceFixed(v)
            #expect(FloatFormat.prometheus(v) == go, "\(v)")
            #expect(
                FloatFormat.fixed(v) == Self.referenceFixed(v) && FloatFormat.exponent(v) == Self.referenceExponent(v))
        }
    }

    @Test func quotingTakesTheFastPathOnlyWhereNothingIsEscaped() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("aZ09 _-/:.{}\"\\<>&\n\t\u{0}\u{1f}\u{7f}é\u{2028}\u{2029}😀'")
        for _ in 0..<20_000 {
            let text = String(
                (0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            #expect(PrometheusJSON.quote(text) == PrometheusJSON.escaped(text), "\(text.debugDescription)")
        }
    }

    @Test func vectorsOfManySamplesReadBackAsWritten() throws {
        var rng = SystemRandomNumberGenerator()
        let samples = (0..<50).map { i in
            Sample(
                labels: ["__name__": "m", "route": "/r\(i)<\"x\">&", "i": "\(i)"],
                value: i % 7 == 0 ? .nan : Double.random(in: -1e12...1e12, using: &rng))
        }
        let text = PrometheusJSON.instant(.vector(samples), at: 1_795_000_000_123)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(json["resultType"] as? String == "vector")
        let result = try #require(json["result"] as? [[String: Any]])
        #expect(result.count == samples.count)
        for (got, want) in zip(result, samples) {
            #expect(got["metric"] as? [String: String] == want.labels.dictionary)
            let value = try #require(got["value"] as? [Any])
            #expect((value[0] as? Double) == 1_795_000_000.123)
            let v = try #require(value[1] as? String)
            #expect(want.value.isNaN ? v == "NaN" : Double(v) == want.value)
        }
    }

    @Test func matricesOfManySeriesReadBackAsWritten() throws {
        var rng = SystemRandomNumberGenerator()
        let series = (0..<5).map { i in
            Series(
                labels: ["__name__": "m", "route": "/r\(i)<\"x\">", "i": "\(i)"],
                points: (0..<(i * 3)).map {
                    Point(timestamp: Int64($0) * 15_000 + Int64(i), value: Double.random(in: -1e6...1e6, using: &rng))
                })
        }
        let text = PrometheusJSON.matrix(series)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let result = try #require(json["result"] as? [[String: Any]])
        #expect(result.count == series.count)
        for (got, want) in zip(result, series) {
            #expect(got["metric"] as? [String: String] == want.labels.dictionary)
            let values = try #require(got["values"] as? [[Any]])
            #expect(values.count == want.points.count)
            for (v, p) in zip(values, want.points) {
                #expect(Double(v[1] as? String ?? "") == p.value)
                #expect(Int64((((v[0] as? Double) ?? -1) * 1000).rounded()) == p.timestamp)
            }
        }
    }
}

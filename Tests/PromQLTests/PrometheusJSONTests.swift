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

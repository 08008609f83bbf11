import OpsightMetrics
import Testing

@testable import PromQL

/// The parser on random and mutated input: it never traps, and answers either an expression or an error whose
/// position lies inside the input.
@Suite struct ParserFuzzTests {
    static let seeds = [
        #"sum by (service) (opsight_request_rate{window="5m", service=~"api|web"}) > 10"#,
        #"max by (service) (opsight_service_latency_seconds{quantile="0.99"}) / on(service) group_left x"#,
        #"-(abs(x) + clamp_min(y, 1)) unless absent(z{a!~".*"}) or 1 > bool 2"#,
        #"avg without (route) (x[5m]) offset 1m @ 100"#,
        #"count(x) == 0 and on() vector(1)"#,
    ]
    static let alphabet = Array(#"()[]{}+-*/^%<>=!~",. 0123456789abcxyz_:"'\#n\t\u{0}é"#)

    static func mutate(_ text: String, _ rng: inout SplitMix64) -> String {
        var chars = Array(text)
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
            let op = Int.random(in: 0..<4, using: &rng)
            let at = chars.isEmpty ? 0 : Int.random(in: 0..<chars.count, using: &rng)
            switch op {
            case 0 where !chars.isEmpty: chars.remove(at: at)
            case 1: chars.insert(alphabet.randomElement(using: &rng)!, at: at)
            case 2 where !chars.isEmpty: chars[at] = alphabet.randomElement(using: &rng)!
            default:
                let piece = chars[at..<min(chars.count, at + Int.random(in: 1...10, using: &rng))]
                chars.insert(contentsOf: piece, at: at)
            }
        }
        return String(chars)
    }

    static func check(_ text: String) {
        do {
            _ = try Parser.parse(text)
        } catch {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(error.position.line >= 1 && error.position.line <= max(1, lines.count), "\(error) in \(text.debugDescription)")
        }
    }

    @Test func mutatedExpressionsNeverTrap() {
        var rng = SplitMix64(seed: 20_261_204)
        for _ in 0..<3_000 {
            Self.check(Self.mutate(Self.seeds.randomElement(using: &rng)!, &rng))
        }
    }

    @Test func randomTextNeverTraps() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...80, using: &rng)
            Self.check(String((0..<length).map { _ in Self.alphabet.randomElement(using: &rng)! }))
        }
    }
}

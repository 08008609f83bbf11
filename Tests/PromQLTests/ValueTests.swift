import Testing

@testable import PromQL

@Suite struct ValueTests {
    @Test func turnsScalarsIntoOneUnlabelledSample() {
        #expect(Value.scalar(2).asVector == [Sample(labels: .empty, value: 2)])
        #expect(Value.scalar(2).samples == nil)
        #expect(Value.vector([]).scalar == nil)
    }

    @Test func unwrapsParentheses() throws {
        #expect(try Parser.parse("((m))").unwrapped == Parser.parse("m").unwrapped.withPosition(at: 2))
    }
}

extension Expr {
    fileprivate func withPosition(at offset: Int) -> Expr {
        guard case .selector(var node) = self else { return self }
        node.position = SourcePosition(line: 1, column: offset + 1, offset: offset)
        return .selector(node)
    }
}

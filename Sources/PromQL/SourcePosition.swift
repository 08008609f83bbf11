/// A place in a PromQL source text.
///
/// `line` and `column` are 1-based (columns count Unicode scalars); `offset` is the 0-based byte
/// offset into the UTF-8 text, as Prometheus reports positions.
public struct SourcePosition: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// 1-based line number.
    public var line: Int
    /// 1-based column, counted in Unicode scalars from the start of the line.
    public var column: Int
    /// 0-based byte offset from the start of the text.
    public var offset: Int

    /// The very first position of a text.
    public static let start = SourcePosition(line: 1, column: 1, offset: 0)

    /// Creates a position.
    public init(line: Int, column: Int, offset: Int) {
        self.line = line
        self.column = column
        self.offset = offset
    }

    /// `line:column`, the prefix of error messages.
    public var description: String { "\(line):\(column)" }

    /// Orders positions by their byte offset.
    public static func < (lhs: SourcePosition, rhs: SourcePosition) -> Bool { lhs.offset < rhs.offset }
}

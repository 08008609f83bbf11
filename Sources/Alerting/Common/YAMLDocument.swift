import Yams

/// Parses YAML text into a node tree, turning Yams's errors into `ConfigError`s with a line.
enum YAMLDocument {
    /// The root node of `text` (`nil` for an empty document), or the syntax error.
    static func compose(_ text: String, file: String) -> Result<Node?, ConfigError> {
        do {
            return .success(try Yams.compose(yaml: text))
        } catch let error as YamlError {
            return .failure(ConfigError(.yaml, file: file, line: line(of: error), problem(of: error)))
        } catch {
            return .failure(ConfigError(.yaml, file: file, line: 0, "\(error)"))
        }
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        case .duplicatedKeysInMapping(_, let context): context.mark.line
        default: 0
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
            .composer(let context, let problem, _, _):
            "yaml: " + (context.map { "\($0.text) " } ?? "") + problem
        default:
            "yaml: \(error)"
        }
    }
}

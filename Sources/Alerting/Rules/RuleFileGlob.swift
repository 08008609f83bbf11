#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Expands rule-file patterns such as `alerts/*.yml` as Prometheus's `rule_files` does.
public enum RuleFileGlob {
    /// The files matching each pattern (relative patterns resolved against `directory` when
    /// given), sorted per pattern, without duplicates; a pattern matching nothing adds nothing.
    public static func expand(_ patterns: [String], relativeTo directory: String? = nil) -> [String] {
        var result: [String] = []
        for pattern in patterns {
            let full = directory.map { pattern.hasPrefix("/") ? pattern : $0 + "/" + pattern } ?? pattern
            var state = glob_t()
            defer { globfree(&state) }
            guard glob(full, 0, nil, &state) == 0 else { continue }
            var matches: [String] = []
            for index in 0..<Int(state.gl_pathc) {
                if let path = state.gl_pathv[index] { matches.append(String(cString: path)) }
            }
            for match in matches.sorted() where !result.contains(match) { result.append(match) }
        }
        return result
    }
}

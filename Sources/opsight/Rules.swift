import Alerting
import ArgumentParser
import Foundation

/// `opsight rules check FILE…`: validates rule files as `promtool check rules` does.
struct Rules: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with Prometheus-format alerting and recording rule files.", subcommands: [Check.self])

    /// `opsight rules check`.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check rule files (exit 0 when all are valid, 1 otherwise); errors are FILE:LINE: reason.")

        @Argument(help: "Rule files to check.")
        var files: [String]

        func run() async throws {
            var failed = false
            var good: [String] = []
            for file in files {
                print("Checking \(file)")
                do {
                    let set = try RuleSet.load(paths: [file])
                    print("  SUCCESS: \(set.ruleCount) rules found")
                    good.append(file)
                } catch {
                    failed = true
                    print("  FAILED:")
                    for line in error.description.split(separator: "\n") { print(line) }
                }
                print("")
            }
            // Group names must be unique across the whole set too (as `opsight serve` loads them together).
            if good.count > 1 {
                do { _ = try RuleSet.load(paths: good) } catch {
                    failed = true
                    print("Checking the files together\n  FAILED:")
                    for line in error.description.split(separator: "\n") { print(line) }
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}

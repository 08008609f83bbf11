import PostgresURL
import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Storage

/// `opsight migrate`: applies the PostgreSQL schema migrations and exits.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations (serve also does at start).")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Give up when PostgreSQL cannot be reached or the migrations do not finish within this many seconds.")
    var timeout = 60

    func validate() throws {
        guard timeout >= 1 else { throw ValidationError("--timeout must be at least 1 second") }
    }

    func run() async throws {
        let config: OpsightConfig
        do { config = try OpsightConfig.load(path: options.config, environment: ProcessInfo.processInfo.environment) } catch {
            throw CommandFailure(error.description)
        }
        let logger = Logger(label: "opsight.migrate")
        let url: PostgresURL
        do { url = try PostgresURL(config.databaseURL) } catch { throw CommandFailure("database_url: \(error.message)") }
        let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        let (schema, seconds) = (config.databaseSchema, timeout)
        try await withThrowingTaskGroup(of: [Int]?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            group.addTask { try await Migrations.migrate(client: client, schema: schema, logger: logger) }
            // postgres-nio keeps retrying a connection that is refused: a one-shot command must end.
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw CommandFailure(
                    "PostgreSQL at \(url.host):\(url.port) did not answer within \(seconds) s (--timeout): is it running, "
                        + "and does database_url point at it?")
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                guard let applied = result else { continue }
                print(
                    applied.isEmpty
                        ? "schema \(schema) is up to date (version \(Migrations.latestVersion))"
                        : "applied migrations \(applied.map(String.init).joined(separator: ", ")) to schema \(schema)")
                return
            }
        }
    }
}

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

    func run() async throws {
        let config: OpsightConfig
        do { config = try OpsightConfig.load(path: options.config, environment: ProcessInfo.processInfo.environment) } catch {
            throw CommandFailure(error.description)
        }
        let logger = Logger(label: "opsight.migrate")
        let url: PostgresURL
        do { url = try PostgresURL(config.databaseURL) } catch { throw CommandFailure("database_url: \(error.message)") }
        let client = PostgresClient(configuration: url.clientConfiguration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            let applied = try await Migrations.migrate(client: client, schema: config.databaseSchema, logger: logger)
            print(
                applied.isEmpty
                    ? "schema \(config.databaseSchema) is up to date (version \(Migrations.latestVersion))"
                    : "applied migrations \(applied.map(String.init).joined(separator: ", ")) to schema \(config.databaseSchema)")
            group.cancelAll()
        }
    }
}

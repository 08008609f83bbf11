import ArgumentParser

/// The `opsight` command line.
@main
struct Opsight: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "opsight",
        abstract: "Observability-first operations service: ingest, metrics, alerting, console.",
        version: OpsightVersion.current,
        subcommands: [Serve.self, Migrate.self, Ship.self, Query.self, Rules.self]
    )
}

/// The build's version, also `opsight_build_info{version}`.
enum OpsightVersion {
    static let current = "0.1.0"
}

/// Options shared by the commands that read `opsight.yaml`.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (YAML). Environment: OPSIGHT_LISTEN, OPSIGHT_REDIS_URL, OPSIGHT_DATABASE_URL, OPSIGHT_WAL_DIR override it.")
    var config: String?
}

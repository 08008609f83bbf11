import Foundation

/// Best-effort removal of a passing test's PostgreSQL schema and Redis keys, so repeated runs do not pile up
/// data in the shared test stores (some Redis keys never expire: totals, the services set, log positions).
///
/// Uses `psql` and `redis-cli` when they are on the PATH (scripts/stores.sh installs both); otherwise, or on
/// any error, leaves the data in place. A failing test keeps its data for inspection.
enum StoreCleanup {
    static func remove(schema: String, keyPrefix: String) async {
        guard let db = E2EEnvironment.databaseURL, let redis = E2EEnvironment.redisURL else { return }
        // Identifiers come from E2EEnvironment.randomID: lowercase letters, digits and '_' only.
        let script = """
            command -v psql >/dev/null && psql "$E2E_DB" -q -v ON_ERROR_STOP=1 \
                -c 'DROP SCHEMA IF EXISTS "\(schema)" CASCADE' >/dev/null 2>&1
            command -v redis-cli >/dev/null && redis-cli -u "$E2E_REDIS" --scan --pattern '\(keyPrefix):*' 2>/dev/null \
                | xargs -r -n 500 redis-cli -u "$E2E_REDIS" DEL >/dev/null 2>&1
            exit 0
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        var env = ProcessInfo.processInfo.environment
        env["E2E_DB"] = db
        env["E2E_REDIS"] = redis
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return }
        _ = await OpsightServer.waitForExit(p, within: .seconds(30))
        if p.isRunning { p.terminate() }
    }
}

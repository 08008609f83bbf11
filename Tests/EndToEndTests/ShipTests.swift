import Foundation
import Testing

/// SPEC §4 shipping: `opsight ship FILE|-` delivers every line, names rejected lines as FILE:LINE on stderr,
/// exits 0, and with `--state` resumes after the last acknowledged line instead of sending anything twice.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct ShipTests {
    @Test func shipsAFileOnceResumesFromItsStateAndReadsStandardInput() async throws {
        try await withOpsightServer("ship") { server, card in
            let service = "ship-\(E2EEnvironment.randomID(6))"
            let file = server.directory.appendingPathComponent("events.ndjson")
            let state = server.directory.appendingPathComponent("state.json").path
            let now = E2EEnvironment.nowMs
            let badLines: Set<Int> = [777, 2_500]
            func line(_ n: Int, service: String) -> String {
                if n == 777 { return #"{"service":"\#(service)","status":200,"duration_ms":"# }
                if n == 2_500 { return #"{"ts":\#(now),"route":"/ship","method":"GET","status":200,"duration_ms":1}"# }
                return
                    #"{"ts":\#(now - Int64(n)),"service":"\#(service)","path":"/ship/\#(n)","method":"GET","status":\#(n % 50 == 0 ? 500 : 200),"duration_ms":\#(n % 97)}"#
            }
            let text = (1...3_000).map { line($0, service: service) }.joined(separator: "\n") + "\n"
            try Data(text.utf8).write(to: file)

            let args = [
                // gzip'd explicitly: on a loopback URL ship sends uncompressed batches by default (the stdin test).
                "ship", file.path, "--url", server.baseURL, "--token", server.opsToken, "--state", state, "--gzip-level", "1",
                "--batch-bytes", "65536",
            ]
            let first = try await CommandRunner.opsight(args, in: server.directory)
            card.equal(first.status, 0, "ship exit status; stderr: \(first.stderr.suffix(2000))")
            let named = Self.namedLines(first.stderr, label: file.path)
            card.equal(named, badLines, "lines named as \(file.lastPathComponent):LINE on stderr")
            try await Self.expectRequests(service, 2_998, server, "after the first ship")

            // Again with the same state: nothing new is sent.
            let second = try await CommandRunner.opsight(args, in: server.directory)
            card.equal(second.status, 0, "second ship exit status; stderr: \(second.stderr.suffix(2000))")
            card.equal(Self.namedLines(second.stderr, label: file.path), [], "lines named by the second ship")
            try await Task.sleep(for: .seconds(1))
            card.equal(
                try await Self.requests(service, server), 2_998, "requests after shipping again with the state file")

            // Lines appended later are the only ones sent by the next run.
            let more = (3_001...3_100).map { line($0, service: service) }.joined(separator: "\n") + "\n"
            let handle = try FileHandle(forWritingTo: file)
            handle.seekToEndOfFile()
            handle.write(Data(more.utf8))
            try handle.close()
            let third = try await CommandRunner.opsight(args, in: server.directory)
            card.equal(third.status, 0, "third ship exit status; stderr: \(third.stderr.suffix(2000))")
            card.equal(Self.namedLines(third.stderr, label: file.path), [], "lines named by the third ship")
            try await Self.expectRequests(service, 3_098, server, "after appending 100 lines")
            try await Task.sleep(for: .seconds(1))
            card.equal(try await Self.requests(service, server), 3_098, "requests settle at 3098")

            // Standard input, with the URL and token from the environment.
            let stdinService = "ship-stdin-\(E2EEnvironment.randomID(6))"
            let stdinFile = server.directory.appendingPathComponent("stdin.ndjson")
            let stdinLines = (1...500).map { n in
                n == 42
                    ? #"{"service":"\#(stdinService)","status":"x","route":"/s","duration_ms":1}"#
                    : line(n, service: stdinService)
            }
            try Data((stdinLines.joined(separator: "\n") + "\n").utf8).write(to: stdinFile)
            let piped = try await CommandRunner.opsight(
                ["ship", "-"], environment: ["OPSIGHT_URL": server.baseURL, "OPSIGHT_TOKEN": server.opsToken],
                stdinPath: stdinFile.path, in: server.directory)
            card.equal(piped.status, 0, "ship - exit status; stderr: \(piped.stderr.suffix(2000))")
            card.check(piped.stderr.contains(":42:"), "ship - names line 42 on stderr: \(piped.stderr.suffix(1000))")
            try await Self.expectRequests(stdinService, 499, server, "after ship -")
        }
    }

    /// Line numbers named as `label:LINE:` at the start of stderr lines.
    static func namedLines(_ stderr: String, label: String) -> Set<Int> {
        var out = Set<Int>()
        for line in stderr.split(separator: "\n") where line.hasPrefix(label + ":") {
            let rest = line.dropFirst(label.count + 1)
            if let n = Int(rest.prefix(while: \.isNumber)) { out.insert(n) }
        }
        return out
    }

    static func requests(_ service: String, _ server: OpsightServer) async throws -> Int {
        let s: ServicesAnswer = try await server.client.get("/api/v1/services", query: [("window", "1h")])
        return s[service]?.requests ?? 0
    }

    static func expectRequests(_ service: String, _ want: Int, _ server: OpsightServer, _ what: String) async throws {
        try await eventually("\(service) counts \(want) requests \(what)", timeout: .seconds(15)) {
            let got = try await requests(service, server)
            return (got == want, "\(got) requests")
        }
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import Storage
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Issue 16: three `opsight serve` collectors (each with its own WAL) on one PostgreSQL and a three-master,
/// three-replica Redis Cluster, behind haproxy round-robin, with load from HTTP clients and `opsight ship` through
/// haproxy. Every acknowledged batch counts exactly once, with the exact quantiles of its samples, from every
/// collector's API and `/metrics`: after `kill -9` of a collector and its restart, and after a Redis master dies
/// with writes its replica never received and the replica takes over.
@Suite(
    .serialized,
    .enabled(if: ClusterEnvironment.enabled && E2EEnvironment.storesConfigured, ClusterEnvironment.skipReason))
struct ClusterEndToEndTests {
    static let eventsPerBatch = 20

    @Test func exactlyOnceThroughHAProxyAfterACollectorIsKilled() async throws {
        let rig = try await Rig.start(label: "kill")
        let card = Scorecard()
        do {
            let ledger = Ledger()
            // opsight ship through haproxy: every line once, spread over the three collectors.
            let shipped = ledger.service("ship")
            let lines = (0..<1_500).map { n in
                #"{"ts":\#(E2EEnvironment.nowMs - Int64(n)),"service":"\#(shipped)","route":"/ship","method":"GET","status":200,"duration_ms":\#(n % 89)}"#
            }
            let file = rig.directory.appendingPathComponent("ship.ndjson")
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
            let ship = try await CommandRunner.run(
                E2EEnvironment.binaryPath,
                [
                    "ship", file.path, "--url", rig.balancerURL, "--token", rig.servers[0].opsToken, "--state",
                    rig.directory.appendingPathComponent("ship.state").path,
                ],
                in: rig.directory, timeout: .seconds(60))
            card.equal(ship.status, 0, "ship through haproxy; stderr: \(ship.stderr.suffix(1000))")

            let senders = (0..<3).map { _ in Task { await Self.send(until: ledger, to: rig) } }
            try await Task.sleep(for: .seconds(2))
            await rig.servers[1].crash()
            print("e2e[cluster]: kill -9 of collector b after \(ledger.all.count) batches")
            try await Task.sleep(for: .seconds(1))
            try await rig.servers[1].start()
            try await Task.sleep(for: .seconds(2))
            ledger.stop()
            for s in senders { await s.value }

            try await Self.verify(ledger, rig, card, extra: [shipped: (1_500, lines.indices.map { Double($0 % 89) })])
        } catch {
            card.fail("\(error)")
        }
        await rig.stop(card)
    }

    @Test func exactlyOnceAfterARedisMasterDiesWithUnreplicatedWrites() async throws {
        let rig = try await Rig.start(label: "failover")
        let card = Scorecard()
        do {
            let ledger = Ledger()
            let senders = (0..<3).map { _ in Task { await Self.send(until: ledger, to: rig) } }
            try await Task.sleep(for: .seconds(2))
            // A shard that holds batches: its replica is frozen (SIGSTOP) and its replication link cut, so what the
            // master acknowledges from then on reaches no replica (a frozen process's socket would still buffer
            // it); then the master is killed and the stale replica takes over.
            let (master, replica) = try await rig.cluster.shard(ofSlot: 0)
            rig.cluster.pause(replica)
            _ = try await rig.cluster.cli(master, ["CLIENT", "KILL", "TYPE", "replica"])
            let lostFrom = try await rig.cluster.cli(master, ["INFO", "replication"])
            try await Task.sleep(for: .milliseconds(1_200))
            let lostTo = try await rig.cluster.cli(master, ["INFO", "replication"])
            print("e2e[cluster]: master offsets while cut off: \(Self.offset(lostFrom)) → \(Self.offset(lostTo))")
            await rig.cluster.kill9(master)
            rig.cluster.resume(replica)
            print("e2e[cluster]: killed master \(master) with replica \(replica) stale by 1.2 s")
            try await eventually("replica \(replica) promoted", timeout: .seconds(30)) {
                let up = try await rig.cluster.nodes().contains {
                    $0.port == replica && $0.isMaster && !$0.slots.isEmpty
                }
                return (up, "not yet")
            }
            try await Task.sleep(for: .seconds(2))
            ledger.stop()
            for s in senders { await s.value }
            // haproxy checks /readyz/ingest, which stays up through the failover and the repair: no batch is refused.
            let refused = ledger.all.values.filter { $0 == .refused }.count
            print("e2e[cluster]: \(ledger.all.count) batches sent, \(refused) refused")
            card.equal(refused, 0, "batches refused through the failover")
            let verifyStarted = ContinuousClock.now
            try await Self.verify(ledger, rig, card, extra: [:])
            print("e2e[cluster]: every collector whole within \(ContinuousClock.now - verifyStarted) of the load's end")
            // The loss must have been noticed and repaired, not missed: every collector took a new epoch (its first
            // start counts one rebuild) and one of them led the rebuild.
            var led = 0
            for (index, server) in rig.servers.enumerated() {
                let status = try await server.client.request(.get, "/api/v1/status", token: server.readToken)
                let body = (try? JSONSerialization.jsonObject(with: status.body) as? [String: Any]) ?? [:]
                let redis = (body["stores"] as? [String: Any])?["redis"] as? [String: Any]
                let rebuilds = (redis?["rebuilds"] as? NSNumber)?.intValue ?? -1
                led += (redis?["rebuilds_led"] as? NSNumber)?.intValue ?? 0
                card.equal(redis?["state"] as? String, "ok", "collector \(index): hot store state after the repair")
                // The first epoch of the new installation is not counted: the repair is.
                card.check(rebuilds >= 1, "collector \(index) took the rebuilt epoch: \(rebuilds) rebuilds")
                let log = (try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? ""
                let lines = log.split(separator: "\n")
                for line in lines where line.contains("hot store") {
                    print("e2e[cluster]: collector \(index): \(line.prefix(400))")
                }
                for line in lines.filter({ $0.contains("window cache") }).suffix(6) {
                    print("e2e[cluster]: collector \(index): \(line.prefix(300))")
                }
            }
            card.check(led >= 1, "the repair was led by a collector: \(led) rebuilds led")
        } catch {
            card.fail("\(error)")
        }
        await rig.stop(card)
    }

    /// A collector restarted while a shard fails over: it wrote batches whose services live on one shard only (sent
    /// to it directly, not through haproxy, and the other two collectors ingest nothing), that shard's replica is cut
    /// off, the collector goes on for 1.2 s and is then killed (`kill -9`), the master dies and the stale replica
    /// takes over, and the collector starts again. Only it committed in those slots, so only it can notice the
    /// loss: it does from `<wal>/hot-slots` (what it committed per slot before the kill), and the rebuild makes every
    /// collector whole. Its position and journal keys are kept off that shard, so a restart does not simply replay
    /// from an older position (which would repair the slots without anyone noticing).
    @Test func aCollectorRestartedThroughAFailoverFindsTheLossInItsSlots() async throws {
        let rig = try await Rig.start(label: "restart")
        let card = Scorecard()
        do {
            let b = rig.servers[1]
            var ids: [String] = []
            for server in rig.servers { ids.append(try await Self.collectorID(server)) }
            let prefix = b.keyPrefix
            let kept = ["\(prefix):wal:\(ids[1])", "\(prefix):wal:\(ids[1]):journal"].map { RedisKeySlot.slot($0) }
            let masters = try await rig.cluster.nodes().filter { $0.isMaster && !$0.slots.isEmpty }
            guard
                let target = masters.first(where: { m in
                    !kept.contains { slot in m.slots.contains { $0.contains(slot) } }
                })
            else { throw E2EError("every master holds b's position or journal (slots \(kept))") }
            let (master, replica) = try await rig.cluster.shard(ofSlot: target.slots[0].lowerBound)
            let ledger = Ledger()
            ledger.place { name in target.slots.contains { $0.contains(RedisKeySlot.slot("{\(name)}")) } }
            print("e2e[cluster]: batches go to collector b (\(ids[1])) only, every service on master \(master)")

            // Where a's and c's positions are, found now: with the replica paused, `CLUSTER NODES` may ask it.
            var others: [(key: String, master: Int)] = []
            for id in [ids[0], ids[2]] {
                let key = "\(prefix):wal:\(id)"
                others.append((key, try await rig.cluster.shard(ofSlot: RedisKeySlot.slot(key)).master))
            }
            let senders = (0..<2).map { _ in Task { await Self.send(until: ledger, to: rig, url: b.baseURL) } }
            try await Task.sleep(for: .seconds(2))
            let othersBefore = try await Self.positions(others, rig)
            rig.cluster.pause(replica)
            _ = try await rig.cluster.cli(master, ["CLIENT", "KILL", "TYPE", "replica"])
            let cutAt = ledger.all.count
            let lostFrom = try await rig.cluster.cli(master, ["INFO", "replication"])
            try await Task.sleep(for: .milliseconds(1_200))
            let lostTo = try await rig.cluster.cli(master, ["INFO", "replication"])
            ledger.stop()
            await b.crash()
            for s in senders { await s.value }
            let othersAfter = try await Self.positions(others, rig)
            print(
                "e2e[cluster]: \(ledger.all.count - cutAt) batches sent to b while cut off, master offsets "
                    + "\(Self.offset(lostFrom)) → \(Self.offset(lostTo)); kill -9 of b")
            // Collectors a and c committed nothing meanwhile: only b has anything to miss on that shard.
            card.equal(othersAfter, othersBefore, "positions of collectors a and c across the cut")
            await rig.cluster.kill9(master)
            rig.cluster.resume(replica)
            try await eventually("replica \(replica) promoted", timeout: .seconds(30)) {
                let up = try await rig.cluster.nodes().contains {
                    $0.port == replica && $0.isMaster && !$0.slots.isEmpty
                }
                return (up, "not yet")
            }
            try await b.start(timeout: .seconds(60))
            print("e2e[cluster]: replica \(replica) promoted, collector b started again")
            try await Self.verify(ledger, rig, card, extra: [:])
            for (index, server) in rig.servers.enumerated() {
                let status = try await server.client.request(.get, "/api/v1/status", token: server.readToken)
                let body = (try? JSONSerialization.jsonObject(with: status.body) as? [String: Any]) ?? [:]
                let redis = (body["stores"] as? [String: Any])?["redis"] as? [String: Any]
                let rebuilds = (redis?["rebuilds"] as? NSNumber)?.intValue ?? -1
                card.equal(redis?["state"] as? String, "ok", "collector \(index): hot store state after the repair")
                card.check(rebuilds >= 1, "collector \(index) took the rebuilt epoch: \(rebuilds) rebuilds")
                let log = (try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? ""
                for line in log.split(separator: "\n") where line.contains("hot store") {
                    print("e2e[cluster]: collector \(index): \(line.prefix(400))")
                }
                if index == 1 {
                    // In what b logged after its restart.
                    let restarted = log.components(separatedBy: "opsight killed with SIGKILL").last ?? ""
                    card.check(restarted.contains("hot store lost data"), "the restarted collector b found the loss")
                }
            }
        } catch {
            card.fail("\(error)")
        }
        await rig.stop(card)
    }

    /// The collector ID a server reports in `/api/v1/status`.
    static func collectorID(_ server: OpsightServer) async throws -> String {
        let status = try await server.client.request(.get, "/api/v1/status", token: server.readToken)
        let body = (try? JSONSerialization.jsonObject(with: status.body) as? [String: Any]) ?? [:]
        guard let id = body["collector_id"] as? String else { throw E2EError("no collector_id in the status") }
        return id
    }

    /// The hot positions (`P:wal:<collector>` keys) read from the masters that hold them ("" for none).
    static func positions(_ keys: [(key: String, master: Int)], _ rig: Rig) async throws -> [String] {
        var out: [String] = []
        for (key, master) in keys { out.append(try await rig.cluster.cli(master, ["GET", key])) }
        return out
    }

    /// `master_repl_offset` from `INFO replication`: how many bytes of writes the master has produced.
    static func offset(_ info: String) -> String {
        info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("master_repl_offset:") }.map(String.init) ?? "?"
    }

    // MARK: - Load and oracle

    /// The batches sent and what became of each; batch n is the service `cl-<run>-<n>` with 20 known samples.
    final class Ledger: @unchecked Sendable {
        enum Outcome: Equatable { case acknowledged, refused, unknown }
        private let lock = NSLock()
        private var next = 0
        private var outcomes: [Int: Outcome] = [:]
        private var stopping = false
        private var placement: (@Sendable (String) -> Bool)?
        let runID = E2EEnvironment.randomID(6)

        /// Services must satisfy `accept` (e.g. hash to one shard): batch n's is then `cl-<run>-<n>` or, when that
        /// does not, the first `cl-<run>-<n>x<k>` that does. Set before the first batch.
        func place(_ accept: @escaping @Sendable (String) -> Bool) { lock.withLock { placement = accept } }

        func take() -> Int? {
            lock.withLock {
                guard !stopping else { return nil }
                defer { next += 1 }
                return next
            }
        }
        func record(_ n: Int, _ o: Outcome) { lock.withLock { outcomes[n] = o } }
        func stop() { lock.withLock { stopping = true } }
        var all: [Int: Outcome] { lock.withLock { outcomes } }
        func service(_ n: Int) -> String {
            let name = "cl-\(runID)-\(n)"
            guard let accept = lock.withLock({ placement }), !accept(name) else { return name }
            return (0...).lazy.map { "\(name)x\($0)" }.first(where: accept)!
        }
        func service(_ name: String) -> String { "cl-\(runID)-\(name)" }

        /// The duration (ms) and status of event i of batch n.
        static func event(_ n: Int, _ i: Int) -> (ms: Int, status: Int) {
            ((n * 131 + i * 977) % 2_003 + 1, (n + i) % 11 == 0 ? 500 : 200)
        }
    }

    /// Sends batches until the ledger stops, through haproxy or to `url` (one collector) when given.
    static func send(until ledger: Ledger, to rig: Rig, url: String? = nil) async {
        while let n = ledger.take() {
            let service = ledger.service(n)
            let ts = E2EEnvironment.nowMs
            let lines = (0..<eventsPerBatch).map { i in
                let e = Ledger.event(n, i)
                return
                    #"{"ts":\#(ts - Int64(i)),"service":"\#(service)","route":"/c","method":"POST","status":\#(e.status),"duration_ms":\#(e.ms)}"#
            }
            var request = HTTPClientRequest(url: (url ?? rig.balancerURL) + "/v1/ingest")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(rig.servers[0].opsToken)")
            request.headers.add(name: "Content-Type", value: "application/x-ndjson")
            request.body = .bytes(ByteBuffer(string: lines.joined(separator: "\n") + "\n"))
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
                let body = try await response.body.collect(upTo: 1 << 20)
                let answer = try? JSONDecoder().decode(IngestAnswer.self, from: Data(body.readableBytesView))
                if response.status.code == 200, answer?.accepted == eventsPerBatch {
                    ledger.record(n, .acknowledged)
                } else if response.status.code == 200 {
                    ledger.record(n, .refused)
                    Issue.record("batch \(n): 200 without \(eventsPerBatch) accepted")
                } else {
                    ledger.record(n, .refused)
                }
            } catch {
                ledger.record(n, .unknown)
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Every collector, asked directly: each acknowledged batch has exactly its 20 requests, its 5xx and the exact
    /// quantiles of its samples in the 1h window, and its `opsight_requests_total` in `/metrics` adds up to 20; a
    /// batch whose answer was lost has all or nothing; a refused one has nothing.
    static func verify(
        _ ledger: Ledger, _ rig: Rig, _ card: Scorecard, extra: [String: (count: Int, samples: [Double])]
    ) async throws {
        let outcomes = ledger.all
        try #require(outcomes.values.filter { $0 == .acknowledged }.count >= 20, "too few batches acknowledged")
        var answers: [[String: ServicesAnswer.Service]] = []
        for server in rig.servers {
            var mine: [String: ServicesAnswer.Service] = [:]
            try await eventually("every acknowledged batch at 20 on \(server.port)", timeout: .seconds(45)) {
                let answer: ServicesAnswer = try await server.client.get("/api/v1/services", query: [("window", "1h")])
                mine = Dictionary(answer.services.map { ($0.service, $0) }, uniquingKeysWith: { a, _ in a })
                let off = outcomes.filter {
                    $0.value == .acknowledged && mine[ledger.service($0.key)]?.requests != eventsPerBatch
                }
                let extraOff = extra.filter { mine[$0.key]?.requests != $0.value.count }
                return (
                    off.isEmpty && extraOff.isEmpty,
                    "\(off.count) acknowledged batches not at \(eventsPerBatch), e.g. "
                        + "\(off.keys.sorted().prefix(5).map { "\($0): \(mine[ledger.service($0)]?.requests ?? 0)" }); "
                        + "\(extraOff.keys.sorted())"
                )
            }
            answers.append(mine)
        }
        for (index, server) in rig.servers.enumerated() {
            let mine = answers[index]
            let metrics = try await server.client.request(.get, "/metrics", token: server.readToken)
            let totals = requestTotals(metrics.text, prefix: "cl-\(ledger.runID)-")
            for (n, outcome) in outcomes.sorted(by: { $0.key < $1.key }) {
                let name = ledger.service(n)
                let got = mine[name]?.requests ?? 0
                let what = "collector \(index) batch \(n) (\(outcome))"
                switch outcome {
                case .acknowledged: card.equal(got, eventsPerBatch, "\(what): requests")
                case .refused: card.equal(got, 0, "\(what): requests")
                case .unknown: card.check(got == 0 || got == eventsPerBatch, "\(what): \(got) requests, want 0 or 20")
                }
                card.equal(totals[name] ?? 0, got, "\(what): opsight_requests_total in /metrics")
                guard got == eventsPerBatch, let s = mine[name] else { continue }
                let events = (0..<eventsPerBatch).map { Ledger.event(n, $0) }
                card.equal(s.errors, events.filter { $0.status >= 500 }.count, "\(what): errors")
                for q in Oracle.summaryQuantiles {
                    card.quantile(
                        s.latency[q.key], exactMs: Oracle.exact(events.map { Double($0.ms) }, q), "\(what): q=\(q.key)")
                }
            }
            for (name, want) in extra {
                card.equal(mine[name]?.requests, want.count, "collector \(index) \(name): requests")
                card.equal(totals[name], want.count, "collector \(index) \(name): opsight_requests_total")
                for q in Oracle.summaryQuantiles {
                    card.quantile(
                        mine[name]?.latency[q.key], exactMs: Oracle.exact(want.samples, q),
                        "collector \(index) \(name): q=\(q.key)")
                }
            }
        }
        // Whatever the collector that answered, the figures are the same.
        card.check(
            answers.dropFirst().allSatisfy { a in a.mapValues(\.requests) == answers[0].mapValues(\.requests) },
            "the three collectors give the same requests per service")
        let acknowledged = outcomes.values.filter { $0 == .acknowledged }.count
        print("e2e[cluster]: \(outcomes.count) batches, \(acknowledged) acknowledged, checked on 3 collectors")
    }

    /// `opsight_requests_total` summed per service, for the services starting with `prefix`.
    static func requestTotals(_ text: String, prefix: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("opsight_requests_total{") {
            guard let start = line.range(of: "service=\""), let value = line.split(separator: " ").last,
                let count = Double(value)
            else { continue }
            let name = line[start.upperBound...].prefix { $0 != "\"" }
            if name.hasPrefix(prefix) { out[String(name), default: 0] += Int(count) }
        }
        return out
    }

    // MARK: - The rig

    /// The Redis Cluster, three collectors on it and on the test PostgreSQL, and haproxy in front of them.
    final class Rig: @unchecked Sendable {
        let cluster: RedisClusterFixture
        let servers: [OpsightServer]
        let directory: URL
        let balancerPort: Int
        private var haproxy: Process?
        var balancerURL: String { "http://127.0.0.1:\(balancerPort)" }

        private init(cluster: RedisClusterFixture, servers: [OpsightServer], balancerPort: Int) {
            self.cluster = cluster
            self.servers = servers
            self.directory = cluster.directory
            self.balancerPort = balancerPort
        }

        static func start(label: String) async throws -> Rig {
            let started = ContinuousClock.now
            let cluster = try RedisClusterFixture()
            try await cluster.start()
            let a = try OpsightServer(label: "cluster-\(label)-a")
            let servers = [
                a, try OpsightServer(label: "cluster-\(label)-b", sharing: a),
                try OpsightServer(label: "cluster-\(label)-c", sharing: a),
            ]
            for s in servers {
                s.redisURL = cluster.url
                s.fixedPort = try OpsightServer.freePort()
            }
            let rig = Rig(cluster: cluster, servers: servers, balancerPort: try OpsightServer.freePort())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for s in servers { group.addTask { try await s.start(timeout: .seconds(60)) } }
                try await group.waitForAll()
            }
            try rig.startHAProxy()
            try await eventually("haproxy answers /readyz", timeout: .seconds(20)) {
                var request = HTTPClientRequest(url: rig.balancerURL + "/readyz")
                request.method = .GET
                let r = try await HTTPClient.shared.execute(request, timeout: .seconds(2))
                return (r.status.code == 200, "\(r.status)")
            }
            print(
                "e2e[cluster]: rig up in \(ContinuousClock.now - started): \(cluster.url), haproxy \(rig.balancerURL)")
            return rig
        }

        private func startHAProxy() throws {
            let backends = servers.enumerated().map {
                "    server c\($0.offset) 127.0.0.1:\($0.element.fixedPort!) check"
            }
            let config = """
                global
                    maxconn 512
                defaults
                    mode http
                    timeout connect 2s
                    timeout client 60s
                    timeout server 60s
                    retries 3
                    option redispatch
                frontend opsight
                    bind 127.0.0.1:\(balancerPort)
                    default_backend collectors
                backend collectors
                    balance roundrobin
                    # Ingest is taken while a store recovers (the WAL holds it): /readyz would take every
                    # collector out during a Redis failover or repair.
                    option httpchk GET /readyz/ingest
                    default-server inter 300ms fall 1 rise 1
                \(backends.joined(separator: "\n"))

                """
            let path = directory.appendingPathComponent("haproxy.cfg")
            try Data(config.utf8).write(to: path)
            let log = directory.appendingPathComponent("haproxy.log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/haproxy")
            p.arguments = ["-f", path.path, "-db"]
            p.standardInput = FileHandle.nullDevice
            let handle = try FileHandle(forWritingTo: log)
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            haproxy = p
        }

        func stop(_ card: Scorecard) async {
            for s in servers { _ = await s.stop() }
            if let haproxy, haproxy.isRunning { kill(haproxy.processIdentifier, SIGKILL) }
            if card.failures > 0 {
                for s in servers {
                    print("--- \(s.logPath) (tail) ---")
                    print(((try? String(contentsOfFile: s.logPath, encoding: .utf8)) ?? "").suffix(3_000))
                }
            }
            cluster.stop()
            // A passing test leaves nothing behind (the collectors' folders and their shared schema); a failing one
            // keeps them for inspection, as every other end-to-end test does.
            if card.failures == 0 {
                for s in servers { await s.removeData() }
            }
            print("e2e[cluster]: \(card.comparisons) comparisons, \(card.failures) failed")
            #expect(card.failures == 0, "see the failures recorded above")
        }
    }
}

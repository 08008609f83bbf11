import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore

/// `assessment-sim`: user journeys against the AssessmentService, then its own tally as JSON on stdout.
///
/// A journey uploads a document, requests an assessment, polls until it is done and views the report; at
/// each step it may be abandoned. Journeys start at `--rate` per second until `--duration` has passed or
/// `--journeys` have started; the command then waits for the running ones and prints the tally.
@main
struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assessment-sim",
        abstract: "Drives user journeys against the AssessmentService and prints a JSON tally of what it saw."
    )

    @Option(help: "The service's base URL.")
    var url = "http://127.0.0.1:8080"
    @Option(help: "Journeys started per second.")
    var rate = 2.0
    @Option(help: "Stop starting journeys after this many seconds.")
    var duration = 30.0
    @Option(help: "Stop starting journeys after this many (0: no limit).")
    var journeys = 0
    @Option(help: "Probability a journey stops after the upload.")
    var abandonAfterUpload = 0.1
    @Option(help: "Probability, per poll, that a journey stops polling.")
    var abandonWhilePolling = 0.02
    @Option(help: "Probability a journey stops before viewing a finished report.")
    var abandonBeforeReport = 0.1
    @Option(help: "Seconds between polls.")
    var pollInterval = 0.5
    @Option(help: "Polls before a journey gives up.")
    var maxPolls = 120
    @Option(help: "Distinct users (X-User-ID).")
    var users = 50
    @Option(help: "Random seed (0: random).")
    var seed: UInt64 = 0

    func run() async throws {
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let tally = Tally()
        let random = SeededRandom(seed: seed == 0 ? UInt64.random(in: 1...UInt64.max) : seed)
        let plan = JourneyPlan(
            abandonAfterUpload: abandonAfterUpload, abandonWhilePolling: abandonWhilePolling,
            abandonBeforeReport: abandonBeforeReport, pollInterval: .milliseconds(Int(pollInterval * 1000)),
            maxPolls: maxPolls)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let interval = Duration.nanoseconds(Int64(1e9 / rate))
        let clock = ContinuousClock()
        let start = clock.now
        let end = start.advanced(by: .milliseconds(Int(duration * 1000)))
        await withDiscardingTaskGroup { group in
            var started = 0
            var next = start
            while clock.now < end && (journeys == 0 || started < journeys) {
                let user = "user-\(random.next(below: max(users, 1)))"
                let journey = Journey(base: base, user: user, plan: plan, client: client, tally: tally, random: random)
                group.addTask { await journey.run() }
                started += 1
                next = next.advanced(by: interval)
                try? await clock.sleep(until: next, tolerance: nil)
            }
        }
        try await client.shutdown()
        let data = try JSONSerialization.data(withJSONObject: tally.report(), options: [.sortedKeys, .prettyPrinted])
        print(String(decoding: data, as: UTF8.self))
    }
}

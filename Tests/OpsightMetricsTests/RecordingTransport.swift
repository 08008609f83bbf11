import OpsightMetrics
import Synchronization

/// A transport that records every attempt and answers from a script (then `delivered` for everything).
final class RecordingTransport: Transport {
    /// A scripted answer to one attempt.
    enum Step {
        case outcome(TransportOutcome)
        case fail(String)
    }

    private struct State {
        var script: [Step] = []
        var attempts: [[UInt8]] = []
        var delivered: [[UInt8]] = []
    }

    /// Thrown for scripted failures.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let state: Mutex<State>

    /// Creates a transport answering `script` first.
    init(script: [Step] = []) {
        state = Mutex(State(script: script))
    }

    func send(body: [UInt8], lineCount: Int) async throws -> TransportOutcome {
        let step = state.withLock { state -> Step? in
            state.attempts.append(body)
            return state.script.isEmpty ? nil : state.script.removeFirst()
        }
        switch step {
        case .fail(let message):
            throw Failure(description: message)
        case .outcome(let outcome):
            if case .delivered = outcome { state.withLock { $0.delivered.append(body) } }
            return outcome
        case nil:
            state.withLock { $0.delivered.append(body) }
            return .delivered(accepted: lineCount, rejected: 0)
        }
    }

    /// Bodies of every attempt, in order.
    var attempts: [[UInt8]] { state.withLock { $0.attempts } }

    /// Bodies that were delivered, in order.
    var deliveredBodies: [[UInt8]] { state.withLock { $0.delivered } }

    /// The delivered lines, in order, without newlines.
    var deliveredLines: [String] {
        deliveredBodies.flatMap { body in
            String(decoding: body, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(
                String.init)
        }
    }
}

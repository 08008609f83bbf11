extension OpsightEmitter {
    /// Encodes `events` as NDJSON and sends them in batches of at most ``Configuration/maxBatchBytes``.
    ///
    /// A batch is closed once it reaches the byte limit, so it may exceed it by one line.
    func deliver<C: Clock<Duration>>(
        _ events: [PendingEvent],
        writer: inout JSONLineWriter,
        graceDeadline: inout C.Instant?,
        clock: C
    ) async {
        writer.reset()
        var lines = 0
        var truncated = 0
        for event in events {
            if event.encode(service: service, maxLineBytes: configuration.maxLineBytes, into: &writer) {
                truncated += 1
            }
            lines += 1
            if writer.bytes.count >= configuration.maxBatchBytes {
                await send(writer.bytes, lineCount: lines, graceDeadline: &graceDeadline, clock: clock)
                writer.reset()
                lines = 0
            }
        }
        if truncated > 0 { EmitterCounters.add(counters.truncated, truncated) }
        if lines > 0 { await send(writer.bytes, lineCount: lines, graceDeadline: &graceDeadline, clock: clock) }
    }

    /// Sends one batch, retrying as the ``RetryPolicy`` says; settles it as accepted/rejected or failed.
    ///
    /// `graceDeadline` is when retries must stop after a shutdown; set on the first retry that notices one.
    private func send<C: Clock<Duration>>(
        _ body: [UInt8],
        lineCount: Int,
        graceDeadline: inout C.Instant?,
        clock: C
    ) async {
        let policy = configuration.retry
        var attempt = 1
        while true {
            // Past shutdown's grace period what is left fails without an attempt: one attempt per remaining batch
            // could take a transport timeout each and hold the process long after SIGTERM.
            if let graceDeadline, clock.now > graceDeadline {
                fail(lineCount, reason: "shutting down: the grace period ended before this batch could be sent")
                return
            }
            let outcome: TransportOutcome
            do {
                outcome = try await transport.send(body: body, lineCount: lineCount)
            } catch {
                outcome = .retry(after: nil, reason: "\(error)")
            }
            switch outcome {
            case .delivered(let accepted, let rejected):
                EmitterCounters.add(counters.accepted, accepted)
                EmitterCounters.add(counters.rejected, rejected)
                return
            case .permanent(let reason):
                fail(lineCount, reason: reason)
                return
            case .retry(let retryAfter, let reason):
                counters.lastError.withLock { $0 = reason }
                guard attempt < policy.maxAttempts, !Task.isCancelled else {
                    fail(lineCount, reason: reason)
                    return
                }
                let retryAt = clock.now.advanced(
                    by: policy.delay(afterAttempt: attempt, retryAfter: retryAfter, random: random()))
                guard await waitToRetry(until: retryAt, graceDeadline: &graceDeadline, clock: clock) else {
                    fail(lineCount, reason: "shutting down: " + reason)
                    return
                }
                EmitterCounters.add(counters.retries, 1)
                attempt += 1
            }
        }
    }

    /// Waits for `retryAt`; returns `false` when shutdown's grace period would end first or the task is cancelled.
    ///
    /// The wait wakes on the run loop's signal only to notice a shutdown: producers' signals just re-check.
    private func waitToRetry<C: Clock<Duration>>(
        until retryAt: C.Instant,
        graceDeadline: inout C.Instant?,
        clock: C
    ) async -> Bool {
        while clock.now < retryAt {
            if Task.isCancelled { return false }
            if graceDeadline == nil, buffer.withLock({ $0.isShuttingDown }) {
                graceDeadline = clock.now.advanced(by: configuration.shutdownGracePeriod)
            }
            if let graceDeadline, retryAt > graceDeadline { return false }
            await sleep(until: retryAt, clock: clock, wakeable: graceDeadline == nil)
        }
        return !Task.isCancelled
    }

    /// Counts a batch given up.
    private func fail(_ lineCount: Int, reason: String) {
        EmitterCounters.add(counters.failed, lineCount)
        counters.lastError.withLock { $0 = reason }
    }
}

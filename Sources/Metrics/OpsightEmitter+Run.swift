extension OpsightEmitter {
    /// Sends batches until ``shutdown()`` is called (or the task is cancelled), then delivers what is left.
    ///
    /// A batch goes out when it holds ``Configuration/maxBatchLines`` events or ``Configuration/maxBatchBytes``,
    /// when its oldest event has waited ``Configuration/maxBatchDelay``, or when ``flush()`` asks. After
    /// `shutdown()` retries continue for at most ``Configuration/shutdownGracePeriod``; after cancellation
    /// each remaining batch gets one attempt. Call it once.
    public func run() async {
        precondition(!started.exchange(true, ordering: .relaxed), "OpsightEmitter.run() must be called once")
        await runLoop(clock)
    }

    /// Asks ``run()`` to deliver everything buffered and return; emit calls made afterwards are dropped.
    public func shutdown() {
        buffer.withLock { $0.isShuttingDown = true }
        wake.signal()
    }

    /// Returns once every event emitted before the call has been delivered, failed or dropped.
    ///
    /// The buffered events are sent at once rather than at the batch timer. It waits for ``run()``
    /// to do the work, so it returns only while `run()` is running or after it has finished.
    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = buffer.withLock { buffer -> Bool in
                if buffer.isClosed || buffer.settled >= buffer.enqueued { return true }
                buffer.flushWaiters.append((buffer.enqueued, continuation))
                return false
            }
            if resumeNow {
                continuation.resume()
            } else {
                wake.signal()
            }
        }
    }

    /// The loop behind ``run()``, with the clock's concrete type opened.
    private func runLoop<C: Clock<Duration>>(_ clock: C) async {
        var batch: [PendingEvent] = []
        batch.reserveCapacity(configuration.maxBatchLines)
        var writer = JSONLineWriter(capacity: min(configuration.maxBatchBytes + configuration.maxLineBytes, 4 << 20))
        // When the current batch window opened: the loop noticed the first event, or the previous batch was taken.
        var windowStart: C.Instant?
        // Set once shutdown is noticed: retries of every remaining batch must end by then.
        var graceDeadline: C.Instant?
        while true {
            let (count, isShuttingDown) = buffer.withLock { ($0.count, $0.isShuttingDown) }
            let stopping = isShuttingDown || Task.isCancelled
            if isShuttingDown && graceDeadline == nil {
                graceDeadline = clock.now.advanced(by: configuration.shutdownGracePeriod)
            }
            if count == 0 {
                if stopping { break }
                windowStart = nil
                await wake.wait()
                continue
            }
            if !stopping {
                let deadline = (windowStart ?? clock.now).advanced(by: configuration.maxBatchDelay)
                await waitForBatch(until: deadline, clock: clock)
            }
            windowStart = clock.now
            batch.removeAll(keepingCapacity: true)
            buffer.withLock { $0.take(upTo: configuration.maxBatchLines, into: &batch) }
            await deliver(batch, writer: &writer, graceDeadline: &graceDeadline, clock: clock)
            let ready = buffer.withLock { $0.finish(batch.count) }
            for continuation in ready { continuation.resume() }
        }
        let waiters = buffer.withLock { buffer in
            buffer.isClosed = true
            return buffer.releaseFlushWaiters()
        }
        for continuation in waiters { continuation.resume() }
    }

    /// Waits until `deadline` or until the buffer holds a full batch (or a flush or shutdown is asked).
    private func waitForBatch<C: Clock<Duration>>(until deadline: C.Instant, clock: C) async {
        while clock.now < deadline && !Task.isCancelled {
            if buffer.withLock({ $0.hasFullBatch }) { return }
            await sleep(until: deadline, clock: clock, wakeable: true)
        }
    }

    /// Sleeps on `clock` until `deadline`; when `wakeable`, a ``WakeSignal`` ends the sleep early.
    func sleep<C: Clock<Duration>>(until deadline: C.Instant, clock: C, wakeable: Bool) async {
        guard wakeable else {
            try? await clock.sleep(until: deadline, tolerance: nil)
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(until: deadline, tolerance: nil) }
            group.addTask { await self.wake.wait() }
            await group.next()
            group.cancelAll()
        }
    }
}

import OpsightMetrics

/// Mergeable statistics of one request series over some set of buckets.
public struct RequestStats: Sendable, Equatable {
    /// All requests, errors included.
    public var count: UInt64 = 0
    /// Requests whose status counts as an error (`errors.status_at_least`, default 500).
    public var errors: UInt64 = 0
    /// Requests per status class: 1xx … 5xx.
    public var class1xx: UInt64 = 0
    public var class2xx: UInt64 = 0
    public var class3xx: UInt64 = 0
    public var class4xx: UInt64 = 0
    public var class5xx: UInt64 = 0
    /// Latency in milliseconds.
    public var latency = LogSketch()

    /// An empty series.
    public init() {}

    /// Counts one request.
    @inlinable
    public mutating func record(status: Int, durationMs: Double, isError: Bool) {
        count &+= 1
        if isError { errors &+= 1 }
        switch status / 100 {
        case 1: class1xx &+= 1
        case 2: class2xx &+= 1
        case 3: class3xx &+= 1
        case 4: class4xx &+= 1
        default: class5xx &+= 1
        }
        latency.add(durationMs)
    }

    /// Count of one status class, `1...5`.
    public func count(ofClass c: Int) -> UInt64 {
        switch c {
        case 1: class1xx
        case 2: class2xx
        case 3: class3xx
        case 4: class4xx
        default: class5xx
        }
    }

    /// errors / all, nil without requests.
    public var errorRatio: Double? { count == 0 ? nil : Double(errors) / Double(count) }

    /// Adds another set of buckets of the same series.
    public mutating func merge(_ other: RequestStats) {
        addCounts(of: other)
        latency.merge(other.latency)
    }

    /// Adds the counts of `other`, not its latency sketch.
    mutating func addCounts(of other: RequestStats) {
        count &+= other.count
        errors &+= other.errors
        class1xx &+= other.class1xx
        class2xx &+= other.class2xx
        class3xx &+= other.class3xx
        class4xx &+= other.class4xx
        class5xx &+= other.class5xx
    }
}

/// Mergeable statistics of one job series.
public struct JobStats: Sendable, Equatable {
    public var enqueued: UInt64 = 0
    public var started: UInt64 = 0
    public var succeeded: UInt64 = 0
    public var failed: UInt64 = 0
    public var retried: UInt64 = 0
    /// Run time of succeeded and failed jobs, in milliseconds.
    public var duration = LogSketch()
    /// Queue wait samples added (started − latest enqueued of the same job id), in milliseconds.
    public var wait = LogSketch()
    /// Wait samples added before and withdrawn since: an enqueue that arrived late moved a start's latest enqueue
    /// (``QueueWaitPairing``). Both sketches only grow, so they merge exactly; ``queueWait`` is their difference.
    public var waitRetracted = LogSketch()

    /// An empty series.
    public init() {}

    /// Count of one lifecycle event.
    public func count(_ event: JobEventType) -> UInt64 {
        switch event {
        case .enqueued: enqueued
        case .started: started
        case .succeeded: succeeded
        case .failed: failed
        case .retried: retried
        }
    }

    /// Counts one lifecycle event.
    @inlinable
    public mutating func record(_ event: JobEventType) {
        switch event {
        case .enqueued: enqueued &+= 1
        case .started: started &+= 1
        case .succeeded: succeeded &+= 1
        case .failed: failed &+= 1
        case .retried: retried &+= 1
        }
    }

    /// failed / (succeeded + failed), nil when no job finished.
    public var failureRatio: Double? {
        let done = succeeded + failed
        return done == 0 ? nil : Double(failed) / Double(done)
    }

    /// Adds another set of buckets of the same series.
    public mutating func merge(_ other: JobStats) {
        enqueued &+= other.enqueued
        started &+= other.started
        succeeded &+= other.succeeded
        failed &+= other.failed
        retried &+= other.retried
        duration.merge(other.duration)
        wait.merge(other.wait)
        waitRetracted.merge(other.waitRetracted)
    }

    /// Equal when the figures are: the counts, the durations and the queue wait that holds. How a store came to
    /// its wait (samples added and some retracted, or added once) depends on the order facts arrived in, not on
    /// what the wait is.
    public static func == (a: JobStats, b: JobStats) -> Bool {
        a.enqueued == b.enqueued && a.started == b.started && a.succeeded == b.succeeded && a.failed == b.failed
            && a.retried == b.retried && a.duration == b.duration && a.queueWait == b.queueWait
    }

    /// The queue wait samples that hold: those added less those retracted.
    ///
    /// A retraction lands in the same bucket as the sample it withdraws, so any window holding one holds the
    /// other and the difference is exact; a bucket count that would go below zero (a hot store rebuilt at a coarser
    /// resolution than the retraction) stays at zero.
    public var queueWait: LogSketch {
        guard !waitRetracted.isEmpty else { return wait }
        var net = wait
        if net.subtract(waitRetracted) { return net }
        var retracted: [Int32: UInt64] = [:]
        for b in waitRetracted.buckets { retracted[b.index] = b.count }
        net = LogSketch()
        let zeros = wait.zeroCount - min(wait.zeroCount, waitRetracted.zeroCount)
        net.addZero(count: zeros)
        for b in wait.buckets {
            let gone = retracted[b.index] ?? 0
            if b.count > gone { net.add(bucket: b.index, count: b.count - gone) }
        }
        return net
    }
}

/// Mergeable log line counts of a service by level.
public struct LogStats: Sendable, Equatable {
    public var debug: UInt64 = 0
    public var info: UInt64 = 0
    public var warn: UInt64 = 0
    public var error: UInt64 = 0
    public var fatal: UInt64 = 0

    /// No lines.
    public init() {}

    /// Count of one level.
    public func count(_ level: LogLevel) -> UInt64 {
        switch level {
        case .debug: debug
        case .info: info
        case .warn: warn
        case .error: error
        case .fatal: fatal
        }
    }

    /// Counts lines of one level.
    @inlinable
    public mutating func record(_ level: LogLevel, count n: UInt64 = 1) {
        switch level {
        case .debug: debug &+= n
        case .info: info &+= n
        case .warn: warn &+= n
        case .error: error &+= n
        case .fatal: fatal &+= n
        }
    }

    /// Adds another set of buckets of the same series.
    public mutating func merge(_ other: LogStats) {
        debug &+= other.debug
        info &+= other.info
        warn &+= other.warn
        error &+= other.error
        fatal &+= other.fatal
    }
}

import OpsightMetrics

// Subtraction undoes a merge exactly (every field is an integer count), which lets a sliding window sum drop the
// bucket that leaves it instead of re-adding every bucket that stays. Each returns false when `other` holds more
// than `self` — never the case when `other` was merged in before — so a caller can detect a broken invariant.

extension RequestStats {
    /// Removes `other`, merged in before; false when it was not.
    public mutating func subtract(_ other: RequestStats) -> Bool {
        guard count >= other.count, errors >= other.errors, class1xx >= other.class1xx,
            class2xx >= other.class2xx, class3xx >= other.class3xx, class4xx >= other.class4xx,
            class5xx >= other.class5xx
        else { return false }
        count -= other.count
        errors -= other.errors
        class1xx -= other.class1xx
        class2xx -= other.class2xx
        class3xx -= other.class3xx
        class4xx -= other.class4xx
        class5xx -= other.class5xx
        return latency.subtract(other.latency)
    }

    /// Whether nothing is counted: such a series has no data in the window and is not listed.
    public var isZero: Bool {
        count == 0 && errors == 0 && class1xx == 0 && class2xx == 0 && class3xx == 0 && class4xx == 0
            && class5xx == 0 && latency.isEmpty
    }
}

extension JobStats {
    /// Removes `other`, merged in before; false when it was not.
    public mutating func subtract(_ other: JobStats) -> Bool {
        guard enqueued >= other.enqueued, started >= other.started, succeeded >= other.succeeded,
            failed >= other.failed, retried >= other.retried
        else { return false }
        enqueued -= other.enqueued
        started -= other.started
        succeeded -= other.succeeded
        failed -= other.failed
        retried -= other.retried
        return duration.subtract(other.duration) && wait.subtract(other.wait)
            && waitRetracted.subtract(other.waitRetracted)
    }

    /// Whether nothing is counted.
    public var isZero: Bool {
        enqueued == 0 && started == 0 && succeeded == 0 && failed == 0 && retried == 0 && duration.isEmpty
            && wait.isEmpty && waitRetracted.isEmpty
    }
}

extension LogStats {
    /// Removes `other`, merged in before; false when it was not.
    public mutating func subtract(_ other: LogStats) -> Bool {
        guard debug >= other.debug, info >= other.info, warn >= other.warn, error >= other.error,
            fatal >= other.fatal
        else { return false }
        debug -= other.debug
        info -= other.info
        warn -= other.warn
        error -= other.error
        fatal -= other.fatal
        return true
    }

    /// Whether no line is counted.
    public var isZero: Bool { debug == 0 && info == 0 && warn == 0 && error == 0 && fatal == 0 }
}

extension WindowData {
    /// Removes another window's series, merged in before, dropping series left with nothing; false when `other`
    /// was not part of this sum.
    public mutating func subtract(_ other: WindowData) -> Bool {
        for (k, v) in other.requests {
            // In place through the index, so the sketch arrays are not copied.
            guard let i = requests.index(forKey: k), requests.values[i].subtract(v) else { return false }
            if requests.values[i].isZero { requests.remove(at: i) }
        }
        for (k, v) in other.jobs {
            // In place through the index, so the sketch arrays are not copied.
            guard let i = jobs.index(forKey: k), jobs.values[i].subtract(v) else { return false }
            if jobs.values[i].isZero { jobs.remove(at: i) }
        }
        for (k, v) in other.logs {
            // In place through the index, so the sketch arrays are not copied.
            guard let i = logs.index(forKey: k), logs.values[i].subtract(v) else { return false }
            if logs.values[i].isZero { logs.remove(at: i) }
        }
        return true
    }

    /// The series of one service.
    public func filtered(service: String) -> WindowData {
        var out = WindowData()
        out.requests = requests.filter { $0.key.service == service }
        out.jobs = jobs.filter { $0.key.service == service }
        out.logs = logs.filter { $0.key == service }
        return out
    }
}

extension OpsightEmitter {
    /// Buffering, batching and delivery settings, with defaults suited to a typical service.
    public struct Configuration: Sendable {
        /// Events held while the collector is slow or away; beyond it the oldest are dropped and counted.
        public var bufferCapacity: Int
        /// Most lines in one batch; a buffer holding this many is sent without waiting for the timer.
        public var maxBatchLines: Int
        /// Most bytes (uncompressed NDJSON) in one batch.
        public var maxBatchBytes: Int
        /// Longest an event waits in the buffer before its batch is sent.
        public var maxBatchDelay: Duration
        /// Longest line written; longer events are truncated (the collector rejects lines over 64 KiB).
        public var maxLineBytes: Int
        /// How failed deliveries are retried.
        public var retry: RetryPolicy
        /// After `shutdown()`, how long delivery may keep retrying before what is left is given up.
        public var shutdownGracePeriod: Duration

        /// Creates a configuration; every parameter has a default.
        public init(
            bufferCapacity: Int = 10_000,
            maxBatchLines: Int = 1_000,
            maxBatchBytes: Int = 1 << 20,
            maxBatchDelay: Duration = .seconds(1),
            maxLineBytes: Int = 65_536,
            retry: RetryPolicy = RetryPolicy(),
            shutdownGracePeriod: Duration = .seconds(10)
        ) {
            self.bufferCapacity = max(bufferCapacity, 1)
            self.maxBatchLines = max(maxBatchLines, 1)
            self.maxBatchBytes = max(maxBatchBytes, 1)
            self.maxBatchDelay = maxBatchDelay
            self.maxLineBytes = max(maxLineBytes, 1024)
            self.retry = retry
            self.shutdownGracePeriod = shutdownGracePeriod
        }
    }
}

extension OpsightMetricsFactory {
    /// Which dimension names map a series onto request, job and funnel events, and how often aggregates report.
    public struct Configuration: Sendable {
        /// Dimensions read as the request's route template.
        public var routeDimensions: [String]
        /// Dimensions read as the request's method.
        public var methodDimensions: [String]
        /// Dimensions read as the request's status (must parse as an integer).
        public var statusDimensions: [String]
        /// Dimensions read as a job's queue.
        public var queueDimensions: [String]
        /// Dimensions read as a job's type.
        public var jobDimensions: [String]
        /// Dimensions read as a job's run id.
        public var jobIDDimensions: [String]
        /// Dimensions read as a job's lifecycle step (`succeeded`, `failed`, …).
        public var jobEventDimensions: [String]
        /// Dimensions read as a job's attempt number.
        public var attemptDimensions: [String]
        /// The dimension that turns a counter into funnel events.
        public var entityDimension: String
        /// How often ``OpsightMetricsFactory/run()`` reports aggregated series.
        public var reportInterval: Duration

        /// Creates a configuration; the defaults accept both short names and OpenTelemetry's HTTP names.
        public init(
            routeDimensions: [String] = ["route", "http.route"],
            methodDimensions: [String] = ["method", "http.request.method", "http.method"],
            statusDimensions: [String] = ["status", "http.response.status_code", "http.status_code"],
            queueDimensions: [String] = ["queue"],
            jobDimensions: [String] = ["job"],
            jobIDDimensions: [String] = ["job_id"],
            jobEventDimensions: [String] = ["event"],
            attemptDimensions: [String] = ["attempt"],
            entityDimension: String = "entity",
            reportInterval: Duration = .seconds(60)
        ) {
            self.routeDimensions = routeDimensions
            self.methodDimensions = methodDimensions
            self.statusDimensions = statusDimensions
            self.queueDimensions = queueDimensions
            self.jobDimensions = jobDimensions
            self.jobIDDimensions = jobIDDimensions
            self.jobEventDimensions = jobEventDimensions
            self.attemptDimensions = attemptDimensions
            self.entityDimension = entityDimension
            self.reportInterval = reportInterval
        }
    }
}

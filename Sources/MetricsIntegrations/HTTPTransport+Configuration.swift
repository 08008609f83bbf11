extension HTTPTransport {
    /// The collector's address and credentials, with defaults for everything else.
    public struct Configuration: Sendable {
        /// The full ingest URL, such as `http://collector:8080/v1/ingest`.
        public var url: String
        /// The bearer token (with the `ingest` scope); `nil` sends no `Authorization` header.
        public var token: String?
        /// gzip level 1 (fastest) … 9; `nil` sends bodies uncompressed.
        public var gzipLevel: Int32?
        /// Longest one attempt may take, connecting included.
        public var timeout: Duration
        /// The `User-Agent` header.
        public var userAgent: String

        /// Creates a configuration for the collector at `url` (`/v1/ingest` is appended to a bare base URL).
        public init(
            url: String,
            token: String? = nil,
            gzipLevel: Int32? = 1,
            timeout: Duration = .seconds(30),
            userAgent: String = "opsight-metrics/1"
        ) {
            var url = url
            if !url.hasSuffix("/v1/ingest") {
                if url.hasSuffix("/") { url.removeLast() }
                url += "/v1/ingest"
            }
            self.url = url
            self.token = token
            self.gzipLevel = gzipLevel.map { min(max($0, 1), 9) }
            self.timeout = timeout
            self.userAgent = userAgent
        }
    }
}

extension EventDecoder {
    /// Limits and field aliases of an ``EventDecoder``, with the defaults of SPEC §3/§4.
    public struct Configuration: Sendable {
        /// Extra aliases, alias → known field name (e.g. `"latency": "duration"`), added to the defaults.
        ///
        /// The target may be a canonical name or a default alias (to borrow its unit, as with
        /// `"took_s": "duration_s"`). Aliases never beat the canonical key when both are present.
        public var aliases: [String: String]
        /// Longest accepted line (or array element) in bytes, without its line ending.
        public var maxLineBytes: Int
        /// Events stamped further than this into the future (relative to arrival) are rejected.
        public var maxFutureMs: Int64
        /// Events older than this (relative to arrival) are rejected (`ingest.max_age`).
        public var maxAgeMs: Int64

        /// Creates a configuration; every parameter defaults to the specified value.
        public init(
            aliases: [String: String] = [:],
            maxLineBytes: Int = 65_536,
            maxFutureMs: Int64 = 300_000,
            maxAgeMs: Int64 = 86_400_000
        ) {
            self.aliases = aliases
            self.maxLineBytes = maxLineBytes
            self.maxFutureMs = maxFutureMs
            self.maxAgeMs = maxAgeMs
        }
    }

    /// Every key the decoder understands without configuration; valid targets for configured aliases.
    public static let fieldNames: Set<String> = Set(FieldKey.defaults.map(\.name))

    /// The built-in aliases, alias → canonical field name (SPEC §3).
    public static let defaultAliases: [String: String] = {
        var canonical: [FieldKey.Field: String] = [:]
        for key in FieldKey.defaults where key.priority == 0 { canonical[key.field] = key.name }
        var aliases: [String: String] = [:]
        for key in FieldKey.defaults where key.priority > 0 { aliases[key.name] = canonical[key.field] }
        return aliases
    }()
}

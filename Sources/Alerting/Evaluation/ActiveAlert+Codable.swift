import PromQL

extension ActiveAlert: Codable {
    private enum CodingKeys: String, CodingKey {
        case state, labels, annotations, value, activeAt, firedAt, resolvedAt, lastSentAt, validUntil, keepFiringSince
    }

    /// Decodes an alert; labels as an object, the value as a string (so NaN and ±Inf survive JSON).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        state = try container.decode(AlertState.self, forKey: .state)
        labels = Labels(try container.decode([String: String].self, forKey: .labels))
        annotations = try container.decode([String: String].self, forKey: .annotations)
        let text = try container.decode(String.self, forKey: .value)
        guard let parsed = GoParseFloat.parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: .value, in: container, debugDescription: "not a number: \(text)")
        }
        value = parsed
        activeAt = try container.decode(Int64.self, forKey: .activeAt)
        firedAt = try container.decodeIfPresent(Int64.self, forKey: .firedAt)
        resolvedAt = try container.decodeIfPresent(Int64.self, forKey: .resolvedAt)
        lastSentAt = try container.decodeIfPresent(Int64.self, forKey: .lastSentAt)
        validUntil = try container.decodeIfPresent(Int64.self, forKey: .validUntil)
        keepFiringSince = try container.decodeIfPresent(Int64.self, forKey: .keepFiringSince)
    }

    /// Encodes the alert (see `init(from:)` for the shapes).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(state, forKey: .state)
        try container.encode(labels.dictionary, forKey: .labels)
        try container.encode(annotations, forKey: .annotations)
        try container.encode(FloatFormat.prometheus(value), forKey: .value)
        try container.encode(activeAt, forKey: .activeAt)
        try container.encodeIfPresent(firedAt, forKey: .firedAt)
        try container.encodeIfPresent(resolvedAt, forKey: .resolvedAt)
        try container.encodeIfPresent(lastSentAt, forKey: .lastSentAt)
        try container.encodeIfPresent(validUntil, forKey: .validUntil)
        try container.encodeIfPresent(keepFiringSince, forKey: .keepFiringSince)
    }
}

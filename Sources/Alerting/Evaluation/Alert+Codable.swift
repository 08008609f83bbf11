import PromQL

extension Alert: Codable {
    private enum CodingKeys: String, CodingKey {
        case labels, annotations, startsAt, endsAt, generatorURL
    }

    /// Decodes an alert whose labels are an object.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        labels = Labels(try container.decode([String: String].self, forKey: .labels))
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
        startsAt = try container.decode(Int64.self, forKey: .startsAt)
        endsAt = try container.decodeIfPresent(Int64.self, forKey: .endsAt)
        generatorURL = try container.decodeIfPresent(String.self, forKey: .generatorURL) ?? ""
    }

    /// Encodes the alert, labels as an object.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(labels.dictionary, forKey: .labels)
        try container.encode(annotations, forKey: .annotations)
        try container.encode(startsAt, forKey: .startsAt)
        try container.encodeIfPresent(endsAt, forKey: .endsAt)
        try container.encode(generatorURL, forKey: .generatorURL)
    }
}

import Logging

extension OpsightLogHandler {
    /// Metadata flattened to event fields: `["db": ["table": "users"]]` becomes `db.table: "users"`.
    public static func flatten(_ metadata: Logger.Metadata) -> [String: FieldValue] {
        var fields: [String: FieldValue] = [:]
        fields.reserveCapacity(metadata.count)
        for (key, value) in metadata {
            add(value, at: key, to: &fields)
        }
        return fields
    }

    /// Adds one value (recursing into dictionaries) under `key`.
    private static func add(_ value: Logger.MetadataValue, at key: String, to fields: inout [String: FieldValue]) {
        switch value {
        case .string(let string):
            fields[key] = .string(string)
        case .stringConvertible(let convertible):
            fields[key] = .string(convertible.description)
        case .dictionary(let dictionary):
            for (child, nested) in dictionary {
                add(nested, at: key + "." + child, to: &fields)
            }
        case .array(let items):
            fields[key] = .array(items.map { .string($0.description) })
        }
    }
}

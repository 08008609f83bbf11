/// A configuration problem, located as `file:line:column` with what to do about it.
struct ConfigError: Error, CustomStringConvertible {
    var file: String
    var line: Int?
    var column: Int?
    var message: String

    var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        return "\(place): \(message)"
    }
}

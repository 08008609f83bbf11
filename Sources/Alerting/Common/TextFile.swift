import Foundation

/// Reads a configuration or rule file as UTF-8 text, saying exactly why it cannot: missing, a directory, not
/// readable, or not UTF-8 (with the line and column of the first byte that is not).
public enum TextFile {
    /// The file's text, or why there is none (a sentence that does not repeat the path).
    public static func read(_ path: String) -> Result<String, Failure> {
        if let why = whyUnreadable(path) { return .failure(why) }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(Failure("cannot be read (permission denied?)"))
        }
        if let text = String(data: data, encoding: .utf8) { return .success(text) }
        let (why, line) = notUTF8(Array(data))
        return .failure(Failure(why, line: line))
    }

    /// Why `path` names no file that can be opened for reading (missing, a directory, not readable); nil when it
    /// does. Also for files read otherwise than whole (`opsight ship`).
    public static func whyUnreadable(_ path: String) -> Failure? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return Failure("does not exist", missing: true)
        }
        if isDirectory.boolValue { return Failure("is a directory, not a file") }
        return FileManager.default.isReadableFile(atPath: path) ? nil : Failure("cannot be read (permission denied?)")
    }

    /// Why a file cannot be read.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        /// The line of the first byte that is not UTF-8; 0 for the other failures.
        public let line: Int
        /// Whether there is no such file at all.
        public let isMissing: Bool
        init(_ description: String, line: Int = 0, missing: Bool = false) {
            self.description = description
            self.line = line
            self.isMissing = missing
        }
    }

    /// Where the first byte that is not UTF-8 is, as a sentence.
    static func notUTF8(_ bytes: [UInt8]) -> (String, line: Int) {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        var line = 1
        var column = 1
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                if encoded.count == 1 && encoded.first == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
                offset += encoded.count
            case .error(let length):
                let byte = String(bytes[offset], radix: 16, uppercase: true)
                let why = "is not UTF-8 text: byte 0x\(byte) at line \(line), column \(column) (offset \(offset), "
                    + "\(length) byte\(length == 1 ? "" : "s") not valid); save it as UTF-8"
                return (why, line)
            case .emptyInput:
                return ("is not UTF-8 text; save it as UTF-8", 0)
            }
        }
    }
}

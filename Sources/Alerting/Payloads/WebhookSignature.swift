import Crypto
import Foundation

/// The signature of webhook bodies: `X-Opsight-Timestamp: <unix seconds>` and
/// `X-Opsight-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
public enum WebhookSignature {
    /// The timestamp header's name.
    public static let timestampHeader = "X-Opsight-Timestamp"
    /// The signature header's name.
    public static let signatureHeader = "X-Opsight-Signature"

    /// The two headers for `body` sent at `timestamp` (unix seconds).
    public static func headers(secret: String, body: Data, timestamp: Int64) -> [(name: String, value: String)] {
        [
            (timestampHeader, String(timestamp)),
            (signatureHeader, "sha256=" + signature(secret: secret, body: body, timestamp: timestamp)),
        ]
    }

    /// The lower-case hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed by `secret`.
    public static func signature(secret: String, body: Data, timestamp: Int64) -> String {
        var message = Data("\(timestamp).".utf8)
        message.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    /// Whether `header` (`sha256=<hex>`) is the signature of `body` at `timestamp` (constant time).
    public static func verify(header: String, secret: String, body: Data, timestamp: Int64) -> Bool {
        let expected = Array(("sha256=" + signature(secret: secret, body: body, timestamp: timestamp)).utf8)
        let given = Array(header.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

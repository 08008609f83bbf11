import Crypto
import Foundation

/// Notification ids derived from what a notification says, so that the same notification made twice carries
/// the same `Idempotency-Key`.
///
/// A notification can be made again for the same transition: after a lease loss two processes may both flush a
/// group for a moment, a process that restored the state from the store flushes what an earlier one already
/// committed, a restart repeats a step whose commit answer was lost. With random ids a receiver could not tell
/// those apart from news. The id is a SHA-256, cut to a UUID, of the receiver, the group key, the transition
/// (each alert's fingerprint with its status, fire time and, once resolved, end time) and the time of the
/// group's previous notification, which tells a deliberate repeat (`repeat_interval`) from a re-send. The
/// outbox keeps one row per id, so a re-made notification is not even queued twice.
enum NotificationID {
    /// The id of a group's notification of `alerts` (with their `statuses`), sent after the one at
    /// `previousAt` (nil: the group's first).
    static func group(
        receiver: String, groupKey: String, alerts: [Alert], statuses: [AlertStatus], previousAt: Int64?
    ) -> UUID {
        var text = "group\u{0}\(receiver)\u{0}\(groupKey)\u{0}\(previousAt.map(String.init) ?? "-")\u{0}"
        for (alert, status) in zip(alerts, statuses).sorted(by: { $0.0.fingerprint < $1.0.fingerprint }) {
            text += "\(alert.fingerprint)|\(status)|\(alert.startsAt)|"
            text += status == .resolved ? "\(alert.endsAt ?? 0)\n" : "\n"
        }
        return uuid(text)
    }

    /// The id of the alerts forwarded to an Alertmanager receiver by the evaluation at `evaluatedAt`.
    static func forward(receiver: String, alerts: [Alert], evaluatedAt: Int64) -> UUID {
        var text = "forward\u{0}\(receiver)\u{0}\(evaluatedAt)\u{0}"
        for alert in alerts.sorted(by: { $0.fingerprint < $1.fingerprint }) {
            text += "\(alert.fingerprint)|\(alert.startsAt)|\(alert.endsAt.map(String.init) ?? "-")\n"
        }
        return uuid(text)
    }

    /// The first 16 bytes of SHA-256(`text`), marked as an RFC 9562 version 8 (custom) UUID.
    static func uuid(_ text: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Array(text.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}

import Foundation
import Yams

/// Parses `receivers: [{name, slack|webhook|alertmanager: {…}}]`.
struct ReceiverParser {
    /// Where errors go.
    let scope: YAMLScope

    private static let kinds = ["slack", "webhook", "alertmanager"]

    /// The names declared in the list, valid receivers or not (so routes referring to an invalid
    /// receiver are not reported twice).
    static func declaredNames(_ node: Node) -> Set<String> {
        guard case .sequence(let items) = node else { return [] }
        return Set(items.compactMap { $0.mapping?["name"]?.scalar?.string })
    }

    /// Every valid receiver; reports duplicate names.
    func parseList(_ node: Node) -> [Receiver] {
        guard let items = scope.sequence(node, what: "receivers") else { return [] }
        var receivers: [Receiver] = []
        for item in items {
            guard let receiver = parse(item) else { continue }
            if receivers.contains(where: { $0.name == receiver.name }) {
                scope.report(.duplicate, at: item, "notification config name \(receiver.name.goQuoted) is not unique")
                continue
            }
            receivers.append(receiver)
        }
        return receivers
    }

    private func parse(_ node: Node) -> Receiver? {
        guard let fields = scope.mapping(node, allowed: ["name"] + Self.kinds, what: "receiver") else { return nil }
        guard let name = fields.value("name").flatMap({ scope.string($0, what: "name") }), !name.isEmpty else {
            scope.report(.missingField, at: node, "missing name in receiver")
            return nil
        }
        let present = Self.kinds.filter { fields.value($0) != nil }
        guard present.count == 1, let kindNode = fields.value(present[0]) else {
            scope.report(
                .invalidValue, at: node,
                "receiver \(name.goQuoted) must have exactly one of: slack, webhook, alertmanager")
            return nil
        }
        let kind: Receiver.Kind?
        switch present[0] {
        case "slack": kind = slack(kindNode).map(Receiver.Kind.slack)
        case "webhook": kind = webhook(kindNode).map(Receiver.Kind.webhook)
        default: kind = alertmanager(kindNode).map(Receiver.Kind.alertmanager)
        }
        return kind.map { Receiver(name: name, kind: $0) }
    }

    private func slack(_ node: Node) -> SlackReceiver? {
        guard
            let fields = scope.mapping(
                node, allowed: ["url", "channel", "username", "title", "text", "send_resolved"], what: "slack receiver")
        else { return nil }
        guard let url = url(fields, node: node) else { return nil }
        var receiver = SlackReceiver(url: url, sendResolved: sendResolved(fields))
        receiver.channel = fields.value("channel").flatMap { scope.string($0, what: "channel") }
        receiver.username = fields.value("username").flatMap { scope.string($0, what: "username") }
        receiver.title = template(fields, key: "title")
        receiver.text = template(fields, key: "text")
        return receiver
    }

    private func webhook(_ node: Node) -> WebhookReceiver? {
        guard
            let fields = scope.mapping(
                node, allowed: ["url", "hmac_secret", "send_resolved", "max_alerts"], what: "webhook receiver")
        else { return nil }
        guard let url = url(fields, node: node) else { return nil }
        let secret = fields.value("hmac_secret").flatMap { scope.string($0, what: "hmac_secret") }
        let maxAlerts = fields.value("max_alerts").flatMap { scope.count($0, what: "max_alerts") } ?? 0
        return WebhookReceiver(
            url: url, hmacSecret: secret?.isEmpty == true ? nil : secret, sendResolved: sendResolved(fields),
            maxAlerts: maxAlerts)
    }

    private func alertmanager(_ node: Node) -> AlertmanagerReceiver? {
        guard let fields = scope.mapping(node, allowed: ["url", "send_resolved"], what: "alertmanager receiver")
        else { return nil }
        guard let url = url(fields, node: node) else { return nil }
        return AlertmanagerReceiver(url: url, sendResolved: sendResolved(fields))
    }

    private func url(_ fields: YAMLMapping, node: Node) -> String? {
        guard let urlNode = fields.value("url"), let text = scope.string(urlNode, what: "url"), !text.isEmpty else {
            scope.report(.missingField, at: fields["url"] ?? node, "url must be set")
            return nil
        }
        guard let components = URLComponents(string: text), ["http", "https"].contains(components.scheme ?? ""),
            components.host?.isEmpty == false
        else {
            scope.report(.invalidValue, at: urlNode, "invalid url \(text.goQuoted): expected http:// or https://")
            return nil
        }
        return text
    }

    private func sendResolved(_ fields: YAMLMapping) -> Bool {
        fields.value("send_resolved").flatMap { scope.bool($0, what: "send_resolved") } ?? true
    }

    private func template(_ fields: YAMLMapping, key: String) -> Template? {
        guard let node = fields.value(key), let text = scope.string(node, what: key) else { return nil }
        do {
            return try Template(text, name: key, dialect: .alertmanager)
        } catch {
            scope.report(.template, at: node, "\(key): \(error)")
            return nil
        }
    }
}

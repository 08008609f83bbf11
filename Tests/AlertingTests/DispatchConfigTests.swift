import PromQL
import Testing

@testable import Alerting

@Suite struct DispatchConfigTests {
    static let yaml = """
        route:
          receiver: slack-ops
          group_by: [alertname, service]
          group_wait: 10s
          group_interval: 1m
          repeat_interval: 4h
          routes:
            - matchers: ['severity="critical"']
              receiver: oncall
              continue: true
              routes:
                - matchers: ['service=~"api|web"']
                  group_by: ['...']
                  repeat_interval: 1h
            - match: {severity: critical}
              receiver: am
            - match_re: {team: "payments|billing"}
              receiver: webhook-team
        inhibit_rules:
          - source_matchers: ['severity="critical"']
            target_matchers: ['severity="warning"']
            equal: [service]
        receivers:
          - {name: slack-ops, slack: {url: "https://hooks.slack.example/T/B/X", channel: "#ops", title: "{{ .Status }}"}}
          - {name: oncall, webhook: {url: "https://oncall.example/hook", hmac_secret: s3cret, max_alerts: 5}}
          - {name: webhook-team, webhook: {url: "http://team.example/hook", send_resolved: false}}
          - {name: am, alertmanager: {url: "http://127.0.0.1:9093"}}
        """

    static func config() throws -> DispatchConfig { try DispatchConfig.parse(yaml: yaml, file: "opsight.yaml") }

    @Test func inheritsOptionsFromParents() throws {
        let config = try Self.config()
        let critical = config.route.routes[0]
        #expect(critical.receiver == "oncall")
        #expect(critical.groupBy == ["alertname", "service"])
        #expect(critical.groupWait == .seconds(10) && critical.groupInterval == .minutes(1))
        #expect(critical.repeatInterval == .minutes(240))
        let nested = critical.routes[0]
        #expect(nested.receiver == "oncall")
        #expect(nested.groupByAll)
        #expect(nested.repeatInterval == .minutes(60))
        #expect(nested.key == #"{}/{severity="critical"}/{service=~"api|web"}"#)
        #expect(config.route.routes[2].key == #"{}/{team=~"payments|billing"}"#)
    }

    @Test(
        arguments: [
            (["severity": "critical", "service": "api"], ["oncall", "am"]),
            (["severity": "critical", "service": "db"], ["oncall", "am"]),
            (["severity": "warning", "team": "billing"], ["webhook-team"]),
            (["severity": "warning", "team": "search"], ["slack-ops"]),
        ] as [([String: String], [String])])
    func routesWithContinue(labels: [String: String], receivers: [String]) throws {
        #expect(try Self.config().route.match(Labels(labels)).map(\.receiver) == receivers)
    }

    @Test func deepestMatchingRouteWinsAndKeepsItsOptions() throws {
        let routes = try Self.config().route.match(["severity": "critical", "service": "api"])
        #expect(routes.first?.groupByAll == true)
        #expect(routes.first?.id == #"{}/{severity="critical"}/{service=~"api|web"}/0"#)
    }

    @Test func parsesReceivers() throws {
        let config = try Self.config()
        guard case .slack(let slack) = config.receiver(named: "slack-ops")?.kind,
            case .webhook(let webhook) = config.receiver(named: "oncall")?.kind,
            case .alertmanager(let am) = config.receiver(named: "am")?.kind
        else {
            Issue.record("wrong receiver kinds")
            return
        }
        #expect(slack.channel == "#ops" && slack.sendResolved && slack.title?.source == "{{ .Status }}")
        #expect(webhook.hmacSecret == "s3cret" && webhook.maxAlerts == 5)
        #expect(config.receiver(named: "webhook-team")?.sendResolved == false)
        #expect(am.alertsURL == "http://127.0.0.1:9093/api/v2/alerts")
        #expect(config.inhibitRules.first?.equal == ["service"])
    }

    static let invalid: [(String, String)] = [
        ("route: {receiver: nobody}\nreceivers: []\n", #"c.yaml:1: undefined receiver "nobody" used in route"#),
        (
            "route: {receiver: a}\nreceivers:\n  - {name: a, webhook: {url: \"http://x\"}}\n  - {name: a, webhook: {url: \"http://y\"}}\n",
            #"c.yaml:4: notification config name "a" is not unique"#
        ),
        (
            "route:\n  receiver: a\n  routes:\n    - matchers: ['severity=~\"(\"']\nreceivers:\n  - {name: a, webhook: {url: \"http://x\"}}\n",
            #"c.yaml:4: invalid matcher: invalid regular expression "(" in "severity=~\"(\"""#
        ),
        ("route: {group_wait: 5s}\nreceivers: []\n", "c.yaml:1: root route must specify a default receiver"),
        (
            "route: {receiver: a, group_interval: 0s}\nreceivers:\n  - {name: a, webhook: {url: \"http://x\"}}\n",
            "c.yaml:1: group_interval cannot be zero"
        ),
        (
            "route: {receiver: a, grouping: [x]}\nreceivers:\n  - {name: a, webhook: {url: \"http://x\"}}\n",
            #"c.yaml:1: unknown field "grouping" in route (expected one of: receiver, group_by, group_wait, group_interval, repeat_interval, matchers, match, match_re, continue, routes)"#
        ),
        (
            "route: {receiver: a}\nreceivers:\n  - {name: a, webhook: {url: \"ftp://x\"}}\n",
            #"c.yaml:3: invalid url "ftp://x": expected http:// or https://"#
        ),
        (
            "route: {receiver: a}\nreceivers:\n  - {name: a}\n",
            #"c.yaml:3: receiver "a" must have exactly one of: slack, webhook, alertmanager"#
        ),
        ("receivers: []\n", "c.yaml:1: no route provided in config"),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidConfiguration(yaml: String, expected: String) {
        do {
            _ = try DispatchConfig.parse(yaml: yaml, file: "c.yaml")
            Issue.record("expected \(expected)")
        } catch {
            #expect(error.errors.map(\.description) == [expected])
        }
    }

    @Test(
        arguments: [
            (#"severity="critical""#, ["severity=\"critical\""]),
            (#"{severity=~"warn|crit", team!="a,b"}"#, [#"severity=~"warn|crit""#, #"team!="a,b""#]),
            ("env != prod", [#"env!="prod""#]),
            (#"msg!~"a\"b""#, [#"msg!~"a\"b""#]),
        ] as [(String, [String])])
    func parsesAlertmanagerMatchers(text: String, expected: [String]) throws {
        #expect(try MatcherParser.parse(text).get().map(\.description) == expected)
    }
}

import Foundation
import Testing

/// Issue 14: `${VAR}` was substituted in the file's text before YAML parsing, so a secret holding `#` or `"` reshaped
/// the configuration (cut a line short, closed a quote). Values are now substituted in the parsed document.
@Suite(.serialized, .enabled(if: E2EEnvironment.storesConfigured, E2EEnvironment.skipReason))
struct ConfigSubstitutionTests {
    @Test func aSecretWithYAMLSyntaxInItStaysOneLiteralValue() async throws {
        let secret = #"s3c #r"et: 'x', {y} # \z"#
        let unsetName = "E2E_NEVER_SET_\(E2EEnvironment.randomID(8))"
        try await withOpsightServer(
            "config-subst",
            configure: { s in
                s.extraTokens = [#"{name: secret, token: "${E2E_SECRET_TOKEN}", scopes: [read]}"#]
                s.environment["E2E_SECRET_TOKEN"] = secret
                s.environment["E2E_IDLE_TIMEOUT"] = "45s"
                // A commented-out line asks for nothing; a plain `${VAR}` reads as the value it names.
                s.extraConfig = "# redis_url: ${\(unsetName)}\nhttp:\n  idle_timeout: ${E2E_IDLE_TIMEOUT}\n"
            }
        ) { server, card in
            let ok = try await server.client.request(.get, "/api/v1/services", token: secret)
            card.equal(ok.status, 200, "the secret as the environment holds it is the token: \(ok.text.prefix(300))")
            let literal = try await server.client.request(.get, "/api/v1/services", token: "${E2E_SECRET_TOKEN}")
            card.equal(literal.status, 401, "the unsubstituted text is not a token")
            let cut = try await server.client.request(.get, "/api/v1/services", token: "s3c")
            card.equal(cut.status, 401, "the value was not cut at its '#'")
            let log = server.logTail(lines: 100_000)
            card.check(!log.contains(unsetName), "a commented-out line named no variable: \(log.suffix(600))")
        }
    }
}

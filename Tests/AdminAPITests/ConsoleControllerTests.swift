import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AdminAPI
import HTTPLayer

@Suite struct ConsoleControllerTests {
    static let tokens = AccessTokens([
        .init(name: "ops", secret: "ops-secret", scopes: ["ingest", "read", "admin"]),
        .init(name: "shipper", secret: "ingest-secret", scopes: ["ingest"]),
    ])

    /// The console over the module's own files and a temporary chart-library directory holding `files`.
    func withConsole(
        vendorFiles: [String: String] = ["dygraph.min.js": "var Dygraph;"],
        _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let vendor = FileManager.default.temporaryDirectory.appendingPathComponent("console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: vendor, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: vendor) }
        for (name, text) in vendorFiles { try Data(text.utf8).write(to: vendor.appendingPathComponent(name)) }
        let router = Router()
        router.add(middleware: RequestIDMiddleware())
        ConsoleController(configuration: .init(assetsDirectory: vendor.path))
            .register(on: ScopedRoutes(router: router, tokens: Self.tokens))
        try await Application(router: router).test(.router, test)
    }

    @Test func indexCarriesAStrictContentSecurityPolicyAndNoInlineScript() async throws {
        try await withConsole { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.status == .ok)
            let csp = try #require(response.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(csp.contains("default-src 'self'"))
            #expect(csp.contains("script-src 'self'"))
            #expect(!csp.contains("unsafe"))
            #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            let html = String(buffer: response.body)
            #expect(html.contains(#"<script type="module" src="/console/app.js">"#))
            #expect(!html.contains("<script>"))
        }
    }

    @Test(arguments: [
        "/console/app.js", "/console/screens/overview.js", "/console/app.css", "/vendor/dygraphs/dygraph.min.js",
    ])
    func servesFilesWithTheirType(path: String) async throws {
        try await withConsole { client in
            let response = try await client.execute(uri: path, method: .get)
            #expect(response.status == .ok)
            let type = response.headers[.contentType] ?? ""
            #expect(type.hasPrefix(path.hasSuffix(".css") ? "text/css" : "text/javascript"))
        }
    }

    @Test(arguments: [
        "/console/../Package.swift", "/console/.hidden.js", "/console/app.swift", "/vendor/dygraphs/../x.js",
    ])
    func refusesPathsOutsideItsFiles(path: String) async throws {
        try await withConsole { client in
            let response = try await client.execute(uri: path, method: .get)
            #expect(response.status == .notFound)
        }
    }

    /// A pasted `/console` link, with or without a trailing slash, lands on the console with its view kept.
    @Test(arguments: ["/console", "/console/"])
    func theConsolesOwnPathLeadsToIt(path: String) async throws {
        try await withConsole { client in
            let bare = try await client.execute(uri: path, method: .get)
            #expect(bare.status == .found)
            #expect(bare.headers[.location] == "/")
            let linked = try await client.execute(uri: path + "?view=service&service=a%20b&range=1h", method: .get)
            #expect(linked.headers[.location] == "/?view=service&service=a%20b&range=1h")
        }
    }

    @Test func aMissingChartLibrarySaysWhatToInstall() async throws {
        try await withConsole(vendorFiles: [:]) { client in
            let response = try await client.execute(uri: "/vendor/dygraphs/dygraph.min.js", method: .get)
            #expect(response.status == .notFound)
            #expect(String(buffer: response.body).contains("libjs-dygraphs"))
        }
    }

    @Test func whoamiNamesTheTokenAndItsScopes() async throws {
        try await withConsole { client in
            let ops = try await client.execute(
                uri: "/api/v1/whoami", method: .get, headers: [.authorization: "Bearer ops-secret"])
            #expect(String(buffer: ops.body) == #"{"name":"ops","scopes":["admin","ingest","read"]}"#)
            let shipper = try await client.execute(
                uri: "/api/v1/whoami", method: .get, headers: [.authorization: "Bearer ingest-secret"])
            #expect(String(buffer: shipper.body) == #"{"name":"shipper","scopes":["ingest"]}"#)
            let unknown = try await client.execute(
                uri: "/api/v1/whoami", method: .get, headers: [.authorization: "Bearer nope"])
            #expect(unknown.status == .unauthorized)
            let none = try await client.execute(uri: "/api/v1/whoami", method: .get)
            #expect(none.status == .unauthorized)
        }
    }
}

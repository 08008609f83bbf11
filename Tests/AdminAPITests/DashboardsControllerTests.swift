import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AdminAPI
import HTTPLayer

@Suite struct DashboardsControllerTests {
    static let tokens = AccessTokens([
        .init(name: "reader", secret: "read-secret", scopes: ["read"]),
        .init(name: "shipper", secret: "ingest-secret", scopes: ["ingest"]),
    ])
    static let read: HTTPFields = [.authorization: "Bearer read-secret"]

    /// The controller over a temporary folder holding `files` (nil folder: one that does not exist).
    func withDashboards(
        _ files: [String: String]?, _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dashboards-\(UUID().uuidString)")
        if let files {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for (name, text) in files { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let router = Router()
        router.add(middleware: RequestIDMiddleware())
        DashboardsController(directory: dir.path).register(on: ScopedRoutes(router: router, tokens: Self.tokens))
        try await Application(router: router).test(.router, test)
    }

    static let good = #"{"uid":"svc","title":"Service","tags":["opsight","x"],"panels":[{"type":"stat"}]}"#

    @Test func listsEveryFileAndABadOneWithItsError() async throws {
        try await withDashboards([
            "a.json": Self.good, "b.json": "{not json", "c.json": #"{"title":"no uid","panels":[]}"#,
            "notes.txt": "ignored", ".hidden.json": Self.good,
        ]) { client in
            let response = try await client.execute(uri: "/api/v1/dashboards", method: .get, headers: Self.read)
            #expect(response.status == .ok)
            let list = try #require(json(response.body)["dashboards"] as? [[String: Any]])
            #expect(list.map { $0["file"] as? String } == ["a.json", "b.json", "c.json"])
            #expect(list[0]["uid"] as? String == "svc")
            #expect(list[0]["title"] as? String == "Service")
            #expect(list[0]["tags"] as? [String] == ["opsight", "x"])
            #expect(list[0]["error"] == nil)
            #expect((list[1]["error"] as? String)?.contains("not valid JSON") == true)
            #expect((list[2]["error"] as? String)?.contains("uid") == true)
        }
    }

    @Test func answersOneDashboardAsStored() async throws {
        try await withDashboards(["a.json": Self.good]) { client in
            let response = try await client.execute(uri: "/api/v1/dashboards/svc", method: .get, headers: Self.read)
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == Self.good)
            let missing = try await client.execute(uri: "/api/v1/dashboards/nope", method: .get, headers: Self.read)
            #expect(missing.status == .notFound)
            #expect(String(buffer: missing.body).contains("nope"))
        }
    }

    @Test func needsTheReadScope() async throws {
        try await withDashboards(["a.json": Self.good]) { client in
            let none = try await client.execute(uri: "/api/v1/dashboards", method: .get)
            #expect(none.status == .unauthorized)
            let ingest = try await client.execute(
                uri: "/api/v1/dashboards/svc", method: .get, headers: [.authorization: "Bearer ingest-secret"])
            #expect(ingest.status == .forbidden)
        }
    }

    @Test func aMissingFolderIsAnErrorNamingIt() async throws {
        try await withDashboards(nil) { client in
            let response = try await client.execute(uri: "/api/v1/dashboards", method: .get, headers: Self.read)
            #expect(response.status == .notFound)
            #expect(String(buffer: response.body).contains("console.dashboards_dir"))
        }
    }

    @Test func theShippedDashboardsAreAllListedWithoutErrors() async throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("dashboards").path
        let entries = try DashboardsController<BasicRequestContext>(directory: shipped).entries()
        #expect(entries.count == 5)
        #expect(entries.allSatisfy { $0.error == nil && $0.uid != nil })
    }
}

import Foundation
import HTTPLayer
import Hummingbird

/// The dashboards of `dashboards/*.json` (SPEC §13) for the console's Dashboards screen, which renders Grafana's
/// classic JSON model itself: `GET /api/v1/dashboards` lists them (uid, title, tags, file; a file that cannot be
/// read or parsed is listed with its error) and `GET /api/v1/dashboards/:uid` answers one as stored. Files are
/// read on every request, so an edited dashboard shows on the next reload.
public struct DashboardsController<Context: RequestContext>: Sendable {
    /// The folder holding the `*.json` files (`console.dashboards_dir`).
    let directory: String

    /// Creates the controller over `directory`.
    public init(directory: String) {
        self.directory = directory
    }

    /// One file of the folder: its parsed summary, or why it could not be used.
    struct Entry {
        var file: String
        var uid: String?
        var title: String?
        var tags: [String] = []
        var data: Data?
        var error: String?
    }

    /// Adds the routes, both with the `read` scope.
    public func register(on routes: ScopedRoutes<Context>) {
        let api = routes.group("/api/v1", scope: .read)
        api.get("dashboards") { _, _ in try self.list() }
        api.get("dashboards/:uid") { _, context in
            let raw = try context.parameters.require("uid")
            return try self.dashboard(uid: raw.removingPercentEncoding ?? raw)
        }
    }

    /// Every `*.json` file of the folder (not hidden ones), sorted by file name.
    func entries() throws -> [Entry] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw APIError(
                .notFound, code: "not_found",
                message: "the dashboards folder '\(directory)' cannot be read (console.dashboards_dir)")
        }
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted().map(Self.read(directory))
    }

    static func read(_ directory: String) -> (String) -> Entry {
        { name in
            var entry = Entry(file: name)
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            guard let data = FileManager.default.contents(atPath: path) else {
                entry.error = "cannot read the file"
                return entry
            }
            let object: Any
            do { object = try JSONSerialization.jsonObject(with: data) } catch {
                entry.error = "not valid JSON: \(error.localizedDescription)"
                return entry
            }
            guard let dict = object as? [String: Any] else {
                entry.error = "not a dashboard: the top level is not a JSON object"
                return entry
            }
            guard let uid = dict["uid"] as? String, !uid.isEmpty else {
                entry.error = "not a dashboard: no \"uid\""
                return entry
            }
            guard dict["panels"] is [Any] else {
                entry.error = "not a dashboard: no \"panels\" array"
                return entry
            }
            entry.uid = uid
            entry.title = dict["title"] as? String ?? uid
            entry.tags = (dict["tags"] as? [Any])?.compactMap { $0 as? String } ?? []
            entry.data = data
            return entry
        }
    }

    private func list() throws -> Response {
        let list: [JSON] = try entries().map { e in
            var o: [String: JSON] = ["file": .string(e.file)]
            if let uid = e.uid { o["uid"] = .string(uid) }
            if let title = e.title { o["title"] = .string(title) }
            o["tags"] = .array(e.tags.map { .string($0) })
            if let error = e.error { o["error"] = .string(error) }
            return .object(o)
        }
        return try JSONResponse.ok(.object(["dashboards": .array(list)]))
    }

    private func dashboard(uid: String) throws -> Response {
        guard let entry = try entries().first(where: { $0.uid == uid }), let data = entry.data else {
            throw APIError(.notFound, code: "not_found", message: "no dashboard with uid '\(uid)' in '\(directory)'")
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

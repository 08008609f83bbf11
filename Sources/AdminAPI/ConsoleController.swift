import Collector
import Foundation
import HTTPTypes
import HTTPLayer
import Hummingbird

/// Content types of the files the console serves; anything else is refused.
private let consoleContentTypes = [
    "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
    "png": "image/png", "svg": "image/svg+xml", "json": "application/json", "ico": "image/x-icon",
]

/// The admin console (SPEC §12): static pages at `/` and `/console/…` from the target's resources, the chart
/// library from its Debian install directory at `/vendor/dygraphs/…`, and `GET /api/v1/whoami` so the page knows
/// which screens and buttons the pasted token may use. Every console response carries a strict CSP.
public struct ConsoleController<Context: RequestContext>: Sendable {
    /// Where the console's files come from.
    public struct Configuration: Sendable {
        /// The chart library's directory (Debian `libjs-dygraphs`); never copied into the repository.
        public var assetsDirectory: String
        /// The console's own files; nil: the `Console` resource folder of this module.
        public var consoleDirectory: String?
        /// Creates the configuration.
        public init(assetsDirectory: String = "/usr/share/javascript/dygraphs", consoleDirectory: String? = nil) {
            self.assetsDirectory = assetsDirectory
            self.consoleDirectory = consoleDirectory
        }
    }

    /// Sent with every console file: no inline script or style, nothing from another origin.
    static var securityHeaders: HTTPFields {
        [
            HTTPField.Name("Content-Security-Policy")!:
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            .cacheControl: "no-cache",
        ]
    }

    private let configuration: Configuration

    /// Creates the controller.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Adds the routes: the files are open (the page asks for a token itself), `whoami` takes any known token.
    public func register(on routes: ScopedRoutes<Context>) {
        let router = routes.unauthenticated()
        let own = configuration.consoleDirectory ?? Self.installedFiles()
        let vendor = configuration.assetsDirectory
        router.get("/") { _, _ in try Self.file(directory: own, path: "index.html", missing: "the console's files") }
        // Browsers ask for /favicon.ico on pages without a <link rel=icon> (a file opened directly).
        router.get("/favicon.ico") { _, _ in
            try Self.file(directory: own, path: "favicon.svg", missing: "the console's files")
        }
        // The console lives at `/`; a pasted `/console` or `/console/` link (with its view in the query) lands there.
        // (The router takes `/console/` for the same path.)
        router.get("/console") { request, _ in
            let query = request.uri.query.map { "?\($0)" } ?? ""
            return Response(status: .found, headers: [.location: "/\(query)"])
        }
        router.get("/console/**") { _, context in
            try Self.file(
                directory: own, path: context.parameters.getCatchAll().joined(separator: "/"),
                missing: "the console's files")
        }
        router.get("/vendor/dygraphs/**") { _, context in
            try Self.file(
                directory: vendor, path: context.parameters.getCatchAll().joined(separator: "/"),
                missing: "the chart library: install Debian's libjs-dygraphs (scripts/stores.sh deps)")
        }
        let tokens = routes.tokens
        routes.authenticated("/api/v1").get("whoami") { request, _ in
            try Self.whoami(try tokens.identify(request))
        }
    }

    /// The token's name and scopes (the group has already refused requests without a known token).
    private static func whoami(_ token: AccessTokens.Token) throws -> Response {
        try JSONResponse.ok(
            .object(["name": .string(token.name), "scopes": .array(token.scopes.sorted().map { .string($0) })]))
    }

    /// The console's files: the resource folder SwiftPM puts beside the executable (`opsight_AdminAPI.resources`),
    /// else this source tree's (a binary run where it was built). Looked up by hand: `Bundle.module` stops the
    /// process when the folder is missing, and a server without its console must still serve everything else;
    /// the console's URLs then answer 404 saying what is missing.
    static func installedFiles() -> String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        let candidates = [
            executable.deletingLastPathComponent().appendingPathComponent("opsight_AdminAPI.resources/Console"),
            Bundle.main.bundleURL.appendingPathComponent("opsight_AdminAPI.resources/Console"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Console"),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("index.html").path) }?
            .path
    }

    /// One file under `directory`; paths with `..`, hidden parts or unknown types are refused.
    private static func file(directory: String?, path: String, missing: String) throws -> Response {
        let parts = path.split(separator: "/")
        let ext = String(path.split(separator: ".").last ?? "")
        guard let directory, !parts.isEmpty, parts.allSatisfy({ !$0.hasPrefix(".") }),
            let type = consoleContentTypes[ext]
        else {
            throw APIError(.notFound, code: "not_found", message: "no console file '\(path)'")
        }
        let url = URL(fileURLWithPath: directory).appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw APIError(.notFound, code: "not_found", message: "\(path) not found in \(directory): \(missing)")
        }
        var headers = securityHeaders
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

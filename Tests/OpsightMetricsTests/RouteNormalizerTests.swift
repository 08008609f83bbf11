import Testing

@testable import OpsightMetrics

@Suite struct RouteNormalizerTests {
    @Test(arguments: [
        ("/users/42", "/users/:id"),
        ("/users/42/orders/7?expand=items#top", "/users/:id/orders/:id"),
        ("/files/9F1C2D3E-4B5A-6789-ABCD-EF0123456789", "/files/:id"),
        ("/files/9f1c2d3e-4b5a-6789-abcd-ef012345678", "/files/9f1c2d3e-4b5a-6789-abcd-ef012345678"),
        ("/blobs/0123456789abcdef", "/blobs/:id"),
        ("/blobs/0123456789abcde", "/blobs/0123456789abcde"),
        ("/blobs/0123456789abcdeg", "/blobs/0123456789abcdeg"),
        ("/api/v1/assessments/", "/api/v1/assessments"),
        ("/", "/"),
        ("", "/"),
        ("?q=1", "/"),
        ("//a///b//", "/a/b"),
        ("users/5", "/users/:id"),
        ("https://example.com/users/5?x", "/users/:id"),
        ("http://example.com", "/"),
        ("/v2/items", "/v2/items"),
        ("/café/12", "/café/:id"),
    ])
    func normalisesPathsIntoRoutes(path: String, route: String) {
        #expect(RouteNormalizer.normalize(path) == route)
    }
}

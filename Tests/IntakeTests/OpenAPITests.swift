import Foundation
import Logging
import Testing

@testable import MostradorAPI

/// `GET /openapi.yaml` must describe exactly the routes the api serves.
@Suite struct OpenAPITests {
    struct NoLiveClients: LivePublisher {
        func send(_ event: LiveEvent) {}
    }

    @Test func theSpecificationListsEveryRouteAndNoOther() async throws {
        let directory = NSTemporaryDirectory() + "mostrador-openapi-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let components = try await APIComponents(
            settings: APISettings(),
            pool: try await APIDatabase.open(dataDirectory: directory, logger: Logger(label: "t")),
            dataDirectory: directory,
            live: NoLiveClients(), logger: Logger(label: "t"))
        let served = Set(
            buildRouter(components).routes.map { route in
                "\(route.method.rawValue) "
                    + route.path.description.replacingOccurrences(
                        of: #":([a-z_]+)"#, with: "{$1}", options: .regularExpression)
            }
        )
        let documented = try Self.operations(in: String(contentsOf: Self.specification, encoding: .utf8))
        let operational: Set = ["GET /health/live", "GET /health/ready", "GET /metrics"]
        #expect(documented.isSuperset(of: operational))
        #expect(
            served == documented.subtracting(operational),
            "served but undocumented: \(served.subtracting(documented)); documented but not served: \(documented.subtracting(operational).subtracting(served))"
        )
    }

    /// The file the api serves at `/openapi.yaml` (bundled from `Services/api/Resources`).
    static var specification: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Services/api/Resources/openapi.yaml")
    }

    /// `METHOD /path` for every operation under `paths:` (trailing slashes dropped, as the router ignores them).
    static func operations(in yaml: String) throws -> Set<String> {
        var result: Set<String> = []
        var inPaths = false
        var path: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" {
                inPaths = true
                continue
            }
            guard inPaths else { continue }
            if !line.isEmpty, !line.hasPrefix(" "), !line.hasPrefix("#") { break }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                var value = String(line.dropFirst(2).dropLast())
                value = value.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
                if value.count > 1, value.hasSuffix("/") { value.removeLast() }
                path = value
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast().uppercased()
                if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(method) { result.insert("\(method) \(path)") }
            }
        }
        return result
    }
}

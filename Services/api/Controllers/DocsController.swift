import Foundation
import Hummingbird
import NIOCore

/// `GET /openapi.yaml`: the description of every endpoint the api serves.
struct DocsController {
    static let specification: ByteBuffer = {
        let url = Bundle.module.url(forResource: "Resources/openapi", withExtension: "yaml")!
        return ByteBuffer(bytes: (try? Data(contentsOf: url)) ?? Data())
    }()

    func addRoutes(to router: Router<APIRequestContext>) {
        router.get("openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                body: .init(byteBuffer: Self.specification))
        }
    }
}

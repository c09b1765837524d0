import AMQPClient
import AsyncHTTPClient
import Foundation
import NIOCore

/// Downloads a photo or document a customer sent through the Cloud API (`NOTES.md` §2): `GET {base}/{media-id}`
/// with the access token answers `{"url", "mime_type", "file_size", …}`; `GET url` with the same token gives the
/// bytes. Bounded by the attachment limit, whatever `file_size` claims.
struct CloudMedia: Sendable {
    /// `https://graph.facebook.com/v23.0` (`MOSTRADOR_CLOUD_API_URL`), without a trailing slash.
    let baseURL: String
    let token: String
    var timeout: Duration = .seconds(20)

    enum Problem: Error, Equatable, CustomStringConvertible {
        case invalidID
        case noURL

        var description: String {
            switch self {
            case .invalidID: "id de archivo no válido"
            case .noURL: "la Cloud API no dio la dirección del archivo"
            }
        }
    }

    private struct Info: Decodable {
        var url: String?
    }

    func download(_ mediaID: String) async throws -> [UInt8] {
        guard (1...64).contains(mediaID.utf8.count), mediaID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        else { throw Problem.invalidID }
        let info = try await get("\(baseURL)/\(mediaID)", limit: 64 << 10)
        guard let url = try JSONDecoder().decode(Info.self, from: Data(info)).url,
            let parsed = URL(string: url), ["https", "http"].contains(parsed.scheme), parsed.host != nil
        else { throw Problem.noURL }
        return try await get(url, limit: AttachmentStore.maximumSize)
    }

    private func get(_ url: String, limit: Int) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        return try await GatewayClient.fetch(request, limit: limit, timeout: timeout)
    }
}

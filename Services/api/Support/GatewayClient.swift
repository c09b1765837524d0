import AMQPClient
import AsyncHTTPClient
import Foundation
import MostradorServiceKit
import NIOCore

/// Calls the api makes to a self-hosted gateway (WAHA, Evolution API): fetching a customer's file and, for WAHA,
/// the phone behind an `@lid`. Only the configured gateway is ever called: a media URL in an event is followed by
/// its path on the configured base URL, never by its host (a forged or misconfigured event cannot point the api
/// at another machine).
struct GatewayClient: Sendable {
    let gateway: WhatsAppGateways.Gateway
    /// `X-Api-Key` (WAHA) or `apikey` (Evolution).
    let keyHeader: String
    var timeout: Duration = .seconds(20)

    enum Problem: Error, Equatable, CustomStringConvertible {
        case http(Int)
        case tooLarge
        case badAnswer

        var description: String {
            switch self {
            case .http(let status): "la pasarela respondió HTTP \(status)"
            case .tooLarge: "el archivo excede 16 MB"
            case .badAnswer: "respuesta de la pasarela no válida"
            }
        }
    }

    /// `GET` (or `POST` with `json`) on the gateway; the body, bounded by `limit`.
    func call(_ path: String, json: Data? = nil, limit: Int = 64 << 10) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: gateway.url + (path.hasPrefix("/") ? path : "/" + path))
        request.headers.add(name: keyHeader, value: gateway.apiKey)
        if let json {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        return try await Self.fetch(request, limit: limit, timeout: timeout)
    }

    /// The body of a 2xx answer to `request`, at most `limit` bytes; any other status is `Problem.http`.
    static func fetch(_ request: HTTPClientRequest, limit: Int, timeout: Duration) async throws -> [UInt8] {
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(timeout.milliseconds))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw error
        } catch {
            // A kept-alive connection the gateway had closed (it restarted, or timed the connection out) fails the
            // first request sent on it; these calls only read, so one more try on a fresh connection is safe.
            response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(timeout.milliseconds))
        }
        guard (200..<300).contains(response.status.code) else {
            _ = try? await response.body.collect(upTo: 64 << 10)
            throw Problem.http(Int(response.status.code))
        }
        do {
            return Array(try await response.body.collect(upTo: limit).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw Problem.tooLarge
        }
    }

    /// A file the gateway serves (WAHA's `media.url`), fetched by its path from the configured gateway.
    func file(at url: String) async throws -> [UInt8] {
        guard let components = URLComponents(string: url), !components.percentEncodedPath.isEmpty else {
            throw Problem.badAnswer
        }
        let query = components.percentEncodedQuery.map { "?" + $0 } ?? ""
        return try await call(components.percentEncodedPath + query, limit: AttachmentStore.maximumSize)
    }

    /// WAHA's Lids API: the phone (`…@c.us`) behind `lid`, nil when WAHA does not know it.
    func wahaPhone(forLID lid: String) async throws -> String? {
        let number = lid.prefix { $0 != "@" }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let body = try await call("/api/\(gateway.session)/lids/\(number)")
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        return object?["pn"] as? String
    }

    /// Evolution's `getBase64FromMediaMessage`: the bytes of the media in the message with WhatsApp id `id`.
    func evolutionMedia(messageID id: String) async throws -> [UInt8] {
        let request = try JSONSerialization.data(withJSONObject: [
            "message": ["key": ["id": id]], "convertToMp4": false,
        ])
        // Base64 is 4/3 of the file, plus the JSON around it.
        let body = try await call(
            "/chat/getBase64FromMediaMessage/\(gateway.session)", json: request,
            limit: AttachmentStore.maximumSize / 3 * 4 + (64 << 10))
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
            let encoded = object["base64"] as? String,
            let bytes = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters)
        else { throw Problem.badAnswer }
        return Array(bytes)
    }
}

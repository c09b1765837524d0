import AMQPClient
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small HTTP client for tests: status, headers and body of one request.
public struct HTTPResult: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    public let body: Data

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw CocoaError(.coderReadCorrupt)
        }
        return object
    }

    public func list() throws -> [[String: Any]] {
        guard let list = try JSONSerialization.jsonObject(with: body) as? [[String: Any]] else {
            throw CocoaError(.coderReadCorrupt)
        }
        return list
    }

    /// The JSON body as `T`; the error names the type and shows the body.
    public func decode<T: Decodable>(_: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: body)
        } catch {
            throw Undecodable(description: "\(T.self) from \(status) \(text): \(error)")
        }
    }

    public struct Undecodable: Error, CustomStringConvertible {
        public let description: String
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

public enum HTTP {
    public static func request(
        _ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        // A fresh connection per request: a pooled one the server closed for idleness (some tests set a 1 s idle
        // timeout) could be reused at the very moment it closes and fail with "connection reset by peer".
        if !request.headers.contains(name: "Connection") { request.headers.add(name: "Connection", value: "close") }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(timeout.milliseconds))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return HTTPResult(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) },
            body: Data(bytes.readableBytesView)
        )
    }

    public static func get(_ url: String, headers: [String: String] = [:]) async throws -> HTTPResult {
        try await request("GET", url, headers: headers)
    }

    /// POSTs `json` (any JSONSerialization value) with `Content-Type: application/json`.
    public static func post(_ url: String, json: Any, headers: [String: String] = [:]) async throws -> HTTPResult {
        let body = try JSONSerialization.data(withJSONObject: json)
        return try await request(
            "POST", url, headers: headers.merging(["Content-Type": "application/json"]) { old, _ in old }, body: body
        )
    }
}

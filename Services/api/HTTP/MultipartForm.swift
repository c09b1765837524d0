import Foundation
import MultipartKit
import NIOCore

/// A parsed `multipart/form-data` body: text fields and the first file part.
struct MultipartForm {
    struct File {
        let name: String
        let filename: String?
        let contentType: String?
        let bytes: [UInt8]
    }

    private(set) var fields: [String: String] = [:]
    private(set) var file: File?

    init(body: ByteBuffer, contentType: String) throws {
        guard let boundary = Self.parameter("boundary", in: contentType) else {
            throw APIError.badRequest("multipart/form-data sin 'boundary'")
        }
        var parts: [(headers: [String: String], body: ByteBuffer)] = []
        var headers: [String: String] = [:]
        var current = ByteBuffer()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in headers[name.lowercased()] = value }
        parser.onBody = { chunk in current.writeBuffer(&chunk) }
        parser.onPartComplete = {
            parts.append((headers, current))
            headers = [:]
            current = ByteBuffer()
        }
        do {
            try parser.execute(body)
        } catch {
            throw APIError.badRequest("El cuerpo multipart no es válido")
        }
        for part in parts {
            guard let disposition = part.headers["content-disposition"],
                let name = Self.parameter("name", in: disposition)
            else { continue }
            let filename = Self.parameter("filename", in: disposition)
            if filename != nil || ["imagen", "image", "archivo", "file", "foto"].contains(name) {
                if file == nil {
                    file = File(
                        name: name, filename: filename, contentType: part.headers["content-type"],
                        bytes: Array(part.body.readableBytesView))
                }
            } else {
                fields[name] = String(buffer: part.body)
            }
        }
    }

    /// `name=value` or `name="value"` from a header value with `;`-separated parameters.
    static func parameter(_ name: String, in header: String) -> String? {
        for piece in header.split(separator: ";") {
            let pair = piece.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].lowercased() == name else { continue }
            return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return nil
    }
}

import Foundation
import MultipartKit
import NIOCore

/// A parsed `multipart/form-data` body: text fields and exactly one file part at most.
///
/// Refused with 400: no or an invalid `boundary`, a body without its closing delimiter, two file parts (which one
/// the sender meant is not ours to guess) and an empty file. A file's name prefers `filename*` (RFC 5987/8187) over
/// `filename`, keeps only its last path component and drops control characters: it is only ever a display name.
struct MultipartForm {
    struct File {
        let name: String
        let filename: String?
        let contentType: String?
        let bytes: [UInt8]
    }

    /// Field names that carry the file even without a `filename` parameter.
    static let fileFieldNames: Set<String> = ["imagen", "image", "archivo", "file", "foto"]

    private(set) var fields: [String: String] = [:]
    private(set) var file: File?

    init(body: ByteBuffer, contentType: String) throws {
        let boundary = try Self.boundary(in: contentType)
        guard Self.hasClosingDelimiter(body, boundary: boundary) else {
            throw APIError.badRequest("El cuerpo multipart no termina con su delimitador final")
        }
        guard Self.headerNamesAreASCII(body, boundary: boundary) else {
            throw APIError.badRequest("El cuerpo multipart no es válido")
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
            let filename = Self.filename(in: disposition)
            if filename != nil || Self.fileFieldNames.contains(name) {
                guard file == nil else { throw APIError.badRequest("Solo se admite un archivo por petición") }
                guard part.body.readableBytes > 0 else { throw APIError.badRequest("El archivo está vacío") }
                file = File(
                    name: name, filename: filename, contentType: part.headers["content-type"],
                    bytes: Array(part.body.readableBytesView))
            } else {
                fields[name] = String(buffer: part.body)
            }
        }
    }

    /// The `boundary` parameter: 1 to 70 visible ASCII characters (RFC 2046), quoted or not.
    static func boundary(in contentType: String) throws -> String {
        guard let boundary = parameter("boundary", in: contentType) else {
            throw APIError.badRequest("multipart/form-data sin 'boundary'")
        }
        guard (1...70).contains(boundary.utf8.count), boundary.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            throw APIError.badRequest("El 'boundary' de multipart/form-data no es válido")
        }
        return boundary
    }

    /// Whether `--boundary--` closes the body (at its start for a form without parts, or after a CRLF).
    static func hasClosingDelimiter(_ body: ByteBuffer, boundary: String) -> Bool {
        let closing = Array("--\(boundary)--".utf8)
        return body.readableBytesView.starts(with: closing) || body.contains([13, 10] + closing)
    }

    /// Whether every part header's name (what precedes its `:`) is ASCII. MultipartKit 4.7 looks each header-name
    /// byte up in a 128-entry table, so a byte of 0x80 or more there traps the process (found by
    /// `ParserFuzzTests`): such a body is refused before the parser sees it. Header blocks are taken to start after
    /// every `--boundary` followed by CR LF, a superset of where the parser reads headers.
    static func headerNamesAreASCII(_ body: ByteBuffer, boundary: String) -> Bool {
        let delimiter = Array("--\(boundary)".utf8)
        return body.withUnsafeReadableBytes { bytes in
            var start = 0
            while let found = bytes.firstIndex(of: delimiter, from: start) {
                var index = found + delimiter.count
                start = found + 1
                guard index + 1 < bytes.count, bytes[index] == 13, bytes[index + 1] == 10 else { continue }
                index += 2
                while index < bytes.count {
                    let lineStart = index
                    var inName = true
                    while index < bytes.count, bytes[index] != 13 {
                        if inName {
                            if bytes[index] == UInt8(ascii: ":") {
                                inName = false
                            } else if bytes[index] >= 0x80 {
                                return false
                            }
                        }
                        index += 1
                    }
                    if index == lineStart { break }
                    index += 2
                }
            }
            return true
        }
    }

    /// `name=value` or `name="value"` from a header value (see `HeaderParameters`).
    static func parameter(_ name: String, in header: String) -> String? { HeaderParameters.parameter(name, in: header) }

    static func filename(in disposition: String) -> String? { HeaderParameters.filename(in: disposition) }
}

extension ByteBuffer {
    /// Whether `needle` occurs in the readable bytes (`memchr` + `memcmp`: fast on a 20 MB body even in debug builds).
    func contains(_ needle: [UInt8]) -> Bool {
        withUnsafeReadableBytes { $0.firstIndex(of: needle, from: 0) != nil }
    }
}

extension UnsafeRawBufferPointer {
    /// The offset of the first `needle` at or after `start`.
    func firstIndex(of needle: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first else { return start }
        guard let base = baseAddress, count - start >= needle.count else { return nil }
        var offset = start
        let last = count - needle.count
        while offset <= last {
            guard let found = memchr(base + offset, Int32(first), last - offset + 1) else { return nil }
            offset = base.distance(to: UnsafeRawPointer(found))
            if needle.withUnsafeBytes({ memcmp(base + offset, $0.baseAddress!, needle.count) }) == 0 { return offset }
            offset += 1
        }
        return nil
    }
}

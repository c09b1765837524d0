import Foundation

/// Parameters of a header value (`form-data; name="file"; filename*=UTF-8''…`): pure parsing of outside bytes,
/// kept free of server types so `Tests/Fuzz` can compile it on its own.
enum HeaderParameters {
    /// The display name of a part: `filename*` (RFC 5987, UTF-8 or ISO-8859-1) when present and decodable, else
    /// `filename`; its last path component, without control characters or quotes, at most 255 characters; nil when
    /// empty. Works on Unicode scalars: a combining or prepended mark must not hide a `/` inside one character.
    static func filename(in disposition: String) -> String? {
        let raw =
            parameter("filename*", in: disposition).flatMap(decodeExtended) ?? parameter("filename", in: disposition)
        guard let raw else { return nil }
        let scalars = raw.unicodeScalars
        let last = scalars.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(Array.init) ?? []
        var visible = String.UnicodeScalarView()
        visible.append(contentsOf: last.filter { !CharacterSet.controlCharacters.contains($0) && $0 != "\"" })
        let trimmed = String(visible).trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed != ".", trimmed != ".." else { return nil }
        var limited = String.UnicodeScalarView()
        limited.append(contentsOf: trimmed.unicodeScalars.prefix(255))
        return String(limited)
    }

    /// `UTF-8''%E2%82%AC%20rates.pdf` (RFC 5987 `ext-value`): the charset, an optional language, percent-encoded.
    static func decodeExtended(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return nil }
        let encoding: String.Encoding
        switch pieces[0].lowercased() {
        case "utf-8": encoding = .utf8
        case "iso-8859-1": encoding = .isoLatin1
        default: return nil
        }
        var bytes: [UInt8] = []
        var iterator = Array(pieces[2].utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(bytes: bytes, encoding: encoding)
    }

    /// `name=value` or `name="value"` from a header value with `;`-separated parameters; a `;` inside quotes does
    /// not split, and `\"` inside quotes is a quote. The name is matched case-insensitively.
    static func parameter(_ name: String, in header: String) -> String? {
        for piece in splitParameters(header) {
            let scalars = piece.unicodeScalars
            guard let equals = scalars.firstIndex(of: "=") else { continue }
            let key = String(scalars[..<equals]).trimmingCharacters(in: .whitespaces)
            guard key.lowercased() == name.lowercased() else { continue }
            let value = String(scalars[scalars.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            return unquote(value)
        }
        return nil
    }

    /// The `;`-separated pieces of a header value, keeping quoted strings whole (scanned by Unicode scalar).
    static func splitParameters(_ header: String) -> [Substring] {
        var pieces: [Substring] = []
        let scalars = header.unicodeScalars
        var start = scalars.startIndex
        var inQuotes = false
        var escaped = false
        for index in scalars.indices {
            let scalar = scalars[index]
            if escaped {
                escaped = false
            } else if inQuotes && scalar == "\\" {
                escaped = true
            } else if scalar == "\"" {
                inQuotes.toggle()
            } else if scalar == ";" && !inQuotes {
                pieces.append(Substring(scalars[start..<index]))
                start = scalars.index(after: index)
            }
        }
        pieces.append(Substring(scalars[start...]))
        return pieces
    }

    /// A quoted string without its quotes and escapes; an unquoted value as it is.
    static func unquote(_ value: String) -> String {
        guard value.unicodeScalars.first == "\"" else { return value }
        var result = String.UnicodeScalarView()
        var escaped = false
        for scalar in value.unicodeScalars.dropFirst() {
            if escaped {
                result.append(scalar)
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "\"" {
                break
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }
}

import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// One PostgreSQL connection inside a transaction. The api's data code is synchronous (it was written for SQLite,
/// whose calls block), so each statement waits for its answer here, on a thread of `PostgresStore`'s own pool: never
/// on an event loop or a task executor thread.
final class PostgresSession {
    let connection: PostgresConnection
    let logger: Logger
    private(set) var changesCount = 0
    private var savepoints = 0

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    func execute(sql: String, arguments: [SQLValue]) throws {
        _ = try rows(sql: sql, arguments: arguments)
    }

    func rows(sql: String, arguments: [SQLValue]) throws -> [Row] {
        let translated = Postgres.translate(sql)
        precondition(translated.statements.count <= 1 || arguments.isEmpty, "several statements take no arguments")
        var rows: [Row] = []
        for statement in translated.statements {
            rows = try run(statement, arguments: arguments)
        }
        return rows
    }

    /// Statements of our own (transactions, savepoints, schema helpers): only split into statements (they hold no
    /// placeholder or LIKE to rewrite).
    func simple(_ sql: String) throws {
        for statement in Postgres.translate(sql).statements { _ = try run(statement, arguments: []) }
    }

    private func run(_ sql: String, arguments: [SQLValue]) throws -> [Row] {
        var bindings = PostgresBindings(capacity: arguments.count)
        for value in arguments { Postgres.bind(value, into: &bindings) }
        let result = try Postgres.explained(sql: sql) {
            try connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).wait()
        }
        changesCount = result.metadata.rows ?? 0
        guard let first = result.rows.first else { return [] }
        let columns = Columns(first.map(\.columnName))
        return result.rows.map { row in Row(columns: columns, values: row.map(Postgres.value(of:))) }
    }

    func inSavepoint(_ body: () throws -> TransactionCompletion) throws {
        savepoints += 1
        let name = "s\(savepoints)"
        defer { savepoints -= 1 }
        try simple("SAVEPOINT \(name)")
        let completion: TransactionCompletion
        do {
            completion = try body()
        } catch {
            try simple("ROLLBACK TO SAVEPOINT \(name); RELEASE SAVEPOINT \(name)")
            throw error
        }
        switch completion {
        case .commit: try simple("RELEASE SAVEPOINT \(name)")
        case .rollback: try simple("ROLLBACK TO SAVEPOINT \(name); RELEASE SAVEPOINT \(name)")
        }
    }
}

/// What the server said about a statement it refused (PostgresNIO's own errors hide it from their description).
public struct SQLError: Error, CustomStringConvertible {
    /// SQLSTATE, e.g. `23505` for a unique violation.
    public let code: String?
    public let message: String
    public let sql: String

    public var description: String { "SQL error \(code ?? "?"): \(message) — in: \(sql.prefix(300))" }
}

/// SQLite's SQL for PostgreSQL, and values both ways.
enum Postgres {
    static func explained<Value>(sql: String, _ body: () throws -> Value) throws -> Value {
        do {
            return try body()
        } catch let error as PSQLError {
            throw SQLError(
                code: error.serverInfo?[.sqlState],
                message: error.serverInfo?[.message] ?? String(reflecting: error), sql: sql)
        }
    }

    struct Translated: Sendable {
        /// One by one: PostgresNIO speaks only the extended protocol, which takes one statement at a time.
        let statements: [String]
    }

    private static let cache = Mutex<[String: Translated]>([:])

    /// `?` and `?N` placeholders become `$N`, `LIKE` becomes `ILIKE … COLLATE "C"`, JSON functions get PostgreSQL's
    /// names, and schema SQL gets PostgreSQL's types (`PostgresSchema.translate`). Quoted text and comments are left
    /// as they are.
    static func translate(_ sql: String) -> Translated {
        if let known = cache.withLock({ $0[sql] }) { return known }
        let translated = rewrite(PostgresSchema.translate(sql))
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[sql] = translated
        }
        return translated
    }

    private static func rewrite(_ sql: String) -> Translated {
        var statements: [String] = []
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var characters = Array(sql.unicodeScalars)[...]
        var nextPlaceholder = 1
        // SQLite's LIKE ignores case for ASCII letters; ILIKE under the "C" collation does the same, and works on
        // the case-insensitive `nocase` columns too (PostgreSQL refuses ILIKE under a nondeterministic collation).
        var patternFollows = false
        func endPattern() {
            if patternFollows { output += " COLLATE \"C\"" }
            patternFollows = false
        }
        func copy(until end: String) {
            while !characters.isEmpty {
                if characters.starts(with: end.unicodeScalars) {
                    output += end
                    characters.removeFirst(end.unicodeScalars.count)
                    return
                }
                output.unicodeScalars.append(characters.removeFirst())
            }
        }
        while let character = characters.popFirst() {
            switch character {
            case ";":
                statements.append(output)
                output = ""
            case "'", "\"":
                output.unicodeScalars.append(character)
                copy(until: String(character))
                if character == "'" { endPattern() }
            case "-" where characters.first == "-":
                output.unicodeScalars.append(character)
                copy(until: "\n")
            case "$" where characters.first == "$":
                // A dollar-quoted body (functions, DO blocks): copied as it is.
                output += "$$"
                characters.removeFirst()
                copy(until: "$$")
            case "?":
                var digits = ""
                while let digit = characters.first, ("0"..."9").contains(digit) {
                    digits.unicodeScalars.append(characters.removeFirst())
                }
                if digits.isEmpty {
                    output += "$\(nextPlaceholder)"
                    nextPlaceholder += 1
                } else {
                    output += "$\(digits)"
                }
                endPattern()
            case _ where CharacterSet.letters.contains(character) || character == "_":
                var word = String(character)
                while let next = characters.first,
                    CharacterSet.alphanumerics.contains(next) || next == "_"
                {
                    word.unicodeScalars.append(characters.removeFirst())
                }
                let upper = word.uppercased()
                output += functions[upper] ?? word
                if upper == "LIKE" { patternFollows = true }
            default:
                output.unicodeScalars.append(character)
            }
        }
        statements.append(output)
        return Translated(statements: statements.filter { !Self.isBlank($0) })
    }

    /// Words PostgreSQL spells differently (SQLite's LIKE ignores case; its JSON functions have other names).
    private static let functions = [
        "LIKE": "ILIKE", "JSON_GROUP_ARRAY": "json_agg", "JSON_OBJECT": "json_build_object",
    ]

    /// Only whitespace and comments.
    private static func isBlank(_ statement: String) -> Bool {
        statement.split(separator: "\n").allSatisfy { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty || trimmed.hasPrefix("--")
        }
    }

    /// A value bound as text of no declared type, as a literal would be: PostgreSQL gives it the type its place in
    /// the statement wants (an integer column, a boolean, text), as SQLite's affinity does. Bytes go as `bytea`.
    static func bind(_ value: SQLValue, into bindings: inout PostgresBindings) {
        switch value {
        case .null: bindings.appendNull()
        case .integer(let int): bindings.append(UntypedText(text: String(int)))
        case .real(let double): bindings.append(UntypedText(text: String(double)))
        case .text(let string): bindings.append(UntypedText(text: string))
        case .blob(let data): bindings.append(ByteBuffer(bytes: data))
        }
    }

    /// A parameter sent as text with type 0 ("unspecified"): the server infers it.
    struct UntypedText: PostgresDynamicTypeEncodable {
        let text: String
        var psqlType: PostgresDataType { PostgresDataType(0) }
        var psqlFormat: PostgresFormat { .text }
        func encode<JSONEncoder: PostgresJSONEncoder>(
            into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
        ) {
            byteBuffer.writeString(text)
        }
    }

    static func value(of cell: PostgresCell) -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        if cell.format == .text {
            let string = bytes.readString(length: bytes.readableBytes) ?? ""
            switch cell.dataType {
            case .int2, .int4, .int8, .oid: return Int64(string).map(SQLValue.integer) ?? .text(string)
            case .float4, .float8: return Double(string).map(SQLValue.real) ?? .text(string)
            case .numeric:
                return Int64(string).map(SQLValue.integer) ?? Double(string).map(SQLValue.real) ?? .text(string)
            case .bool: return .integer(string == "t" ? 1 : 0)
            case .bytea: return .blob(Data(hex: string.dropFirst(2)))
            default: return .text(string)
            }
        }
        switch cell.dataType {
        case .int2: return bytes.readInteger(as: Int16.self).map { .integer(Int64($0)) } ?? .null
        case .int4: return bytes.readInteger(as: Int32.self).map { .integer(Int64($0)) } ?? .null
        case .int8: return bytes.readInteger(as: Int64.self).map { .integer($0) } ?? .null
        case .oid: return bytes.readInteger(as: UInt32.self).map { .integer(Int64($0)) } ?? .null
        case .float4: return bytes.readInteger(as: UInt32.self).map { .real(Double(Float(bitPattern: $0))) } ?? .null
        case .float8: return bytes.readInteger(as: UInt64.self).map { .real(Double(bitPattern: $0)) } ?? .null
        case .bool: return .integer(bytes.readInteger(as: UInt8.self) == 0 ? 0 : 1)
        case .bytea: return .blob(Data(bytes.readableBytesView))
        case .numeric:
            guard let decimal = try? cell.decode(Decimal.self) else { return .null }
            let double = NSDecimalNumber(decimal: decimal).doubleValue
            if double == double.rounded(), abs(double) < 9e15 { return .integer(Int64(double)) }
            return .real(double)
        case .uuid:
            return (try? cell.decode(UUID.self)).map { .text($0.uuidString.lowercased()) } ?? .null
        case .jsonb:
            _ = bytes.readInteger(as: UInt8.self)
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        default:
            return .text(bytes.readString(length: bytes.readableBytes) ?? "")
        }
    }
}

extension Data {
    fileprivate init(hex: Substring) {
        var data = Data(capacity: hex.count / 2)
        var high: UInt8?
        for scalar in hex.unicodeScalars {
            guard let nibble = UInt8(String(scalar), radix: 16) else { continue }
            if let first = high {
                data.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        self = data
    }
}

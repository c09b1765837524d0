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
        let translated = Postgres.translate(sql)
        if translated.isSeveralStatements {
            // Schema changes come as several statements: only the simple protocol takes them in one go.
            precondition(arguments.isEmpty, "several statements cannot take arguments")
            _ = try connection.simpleQuery(translated.sql).wait()
            return
        }
        _ = try rows(sql: sql, arguments: arguments)
    }

    func rows(sql: String, arguments: [SQLValue]) throws -> [Row] {
        let translated = Postgres.translate(sql)
        var bindings = PostgresBindings(capacity: arguments.count)
        for value in arguments { bindings.append(Postgres.bind(value)) }
        let result = try connection.query(PostgresQuery(unsafeSQL: translated.sql, binds: bindings), logger: logger)
            .wait()
        changesCount = result.metadata.rows ?? 0
        guard let first = result.rows.first else { return [] }
        let columns = Columns(first.map(\.columnName))
        return result.rows.map { row in Row(columns: columns, values: row.map(Postgres.value(of:))) }
    }

    func simple(_ sql: String) throws {
        _ = try connection.simpleQuery(sql).wait()
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

/// SQLite's SQL for PostgreSQL, and values both ways.
enum Postgres {
    struct Translated: Sendable {
        let sql: String
        /// Whether it holds more than one statement (only the simple query protocol takes those).
        let isSeveralStatements: Bool
    }

    private static let cache = Mutex<[String: Translated]>([:])

    /// `?` and `?N` placeholders become `$N`, `LIKE` becomes `ILIKE` (SQLite's LIKE ignores case), and schema SQL
    /// gets PostgreSQL's types (`PostgresSchema.translate`). Quoted text and comments are left as they are.
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
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var characters = Array(sql.unicodeScalars)[...]
        var nextPlaceholder = 1
        var ended = 0
        var afterEnd = false
        while let character = characters.popFirst() {
            if ended > 0, !CharacterSet.whitespacesAndNewlines.contains(character), character != ";",
                !(character == "-" && characters.first == "-")
            {
                afterEnd = true
            }
            switch character {
            case ";":
                ended += 1
                output.unicodeScalars.append(character)
            case "'", "\"":
                output.unicodeScalars.append(character)
                while let inner = characters.popFirst() {
                    output.unicodeScalars.append(inner)
                    if inner == character {
                        if characters.first == character {
                            output.unicodeScalars.append(characters.removeFirst())
                        } else {
                            break
                        }
                    }
                }
            case "-" where characters.first == "-":
                output.unicodeScalars.append(character)
                while let inner = characters.popFirst() {
                    output.unicodeScalars.append(inner)
                    if inner == "\n" { break }
                }
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
            case _ where CharacterSet.letters.contains(character) || character == "_":
                var word = String(character)
                while let next = characters.first,
                    CharacterSet.alphanumerics.contains(next) || next == "_"
                {
                    word.unicodeScalars.append(characters.removeFirst())
                }
                output += word.uppercased() == "LIKE" ? "ILIKE" : word
            default:
                output.unicodeScalars.append(character)
            }
        }
        return Translated(sql: output, isSeveralStatements: ended > 1 || afterEnd)
    }

    /// A value bound as text of no declared type, as a literal would be: PostgreSQL gives it the type its place in
    /// the statement wants (an integer column, a boolean, text), as SQLite's affinity does. Bytes go as `bytea`.
    static func bind(_ value: SQLValue) -> PostgresData {
        switch value {
        case .null: PostgresData(type: .null, formatCode: .text, value: nil)
        case .integer(let int): untyped(String(int))
        case .real(let double): untyped(String(double))
        case .text(let string): untyped(string)
        case .blob(let data): PostgresData(type: .bytea, formatCode: .binary, value: ByteBuffer(bytes: data))
        }
    }

    private static func untyped(_ string: String) -> PostgresData {
        PostgresData(type: PostgresDataType(0), formatCode: .text, value: ByteBuffer(string: string))
    }

    static func value(of cell: PostgresCell) -> SQLValue {
        guard var bytes = cell.bytes else { return .null }
        if cell.format == .text {
            let string = bytes.readString(length: bytes.readableBytes) ?? ""
            switch cell.dataType {
            case .int2, .int4, .int8, .oid: return Int64(string).map(SQLValue.integer) ?? .text(string)
            case .float4, .float8: return Double(string).map(SQLValue.real) ?? .text(string)
            case .numeric: return Int64(string).map(SQLValue.integer) ?? Double(string).map(SQLValue.real) ?? .text(string)
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

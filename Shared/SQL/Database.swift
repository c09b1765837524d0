import GRDB

/// Which SQL a database speaks, for the rare statement the two write differently.
public enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

/// What a savepoint's body asks for.
public enum TransactionCompletion: Sendable {
    case commit
    case rollback
}

/// One connection inside a transaction, handed to the closures of `SQLDatabase.read` and `.write`. Statements use
/// `?` (or `?1`, `?2`…) placeholders and SQLite's SQL; on PostgreSQL they are translated (`Postgres.translate`).
public final class Database {
    enum Backend {
        case sqlite(GRDB.Database)
        case postgres(PostgresSession)
    }

    let backend: Backend

    init(_ backend: Backend) { self.backend = backend }

    /// Rows the last INSERT, UPDATE or DELETE changed.
    public var changesCount: Int {
        switch backend {
        case .sqlite(let db): db.changesCount
        case .postgres(let session): session.changesCount
        }
    }

    /// The id the last INSERT gave its row (on PostgreSQL: the last value taken from a sequence in this session).
    public var lastInsertedRowID: Int64 {
        switch backend {
        case .sqlite(let db): return db.lastInsertedRowID
        case .postgres(let session):
            do {
                return try Int64.fromSQLValue(session.rows(sql: "SELECT lastval()", arguments: []).first!.values[0])!
            } catch {
                preconditionFailure("no row was inserted with a generated id in this session: \(error)")
            }
        }
    }

    public func execute(sql: String, arguments: StatementArguments = []) throws {
        switch backend {
        case .sqlite(let db): try db.execute(sql: sql, arguments: arguments.grdb)
        case .postgres(let session): try session.execute(sql: sql, arguments: arguments.values)
        }
    }

    /// A statement that SQLite keeps prepared between calls (PostgreSQL prepares each; the SQL translation is cached).
    public func cachedStatement(sql: String) throws -> Statement { Statement(database: self, sql: sql) }

    /// Runs `body` in a savepoint: what it did stays if it returns `.commit`, is undone if it returns `.rollback` or
    /// throws (and the transaction around it goes on).
    public func inSavepoint(_ body: () throws -> TransactionCompletion) throws {
        switch backend {
        case .sqlite(let db):
            try db.inSavepoint {
                switch try body() {
                case .commit: .commit
                case .rollback: .rollback
                }
            }
        case .postgres(let session): try session.inSavepoint(body)
        }
    }

    func rows(sql: String, arguments: StatementArguments) throws -> [Row] {
        switch backend {
        case .sqlite(let db):
            let statement = try db.cachedStatement(sql: sql)
            let columns = Columns(statement.columnNames)
            let cursor = try GRDB.Row.fetchCursor(statement, arguments: arguments.grdb)
            var rows: [Row] = []
            while let row = try cursor.next() {
                rows.append(Row(columns: columns, values: row.databaseValues.map(SQLValue.init)))
            }
            return rows
        case .postgres(let session):
            return try session.rows(sql: sql, arguments: arguments.values)
        }
    }
}

/// SQL to run again (`Database.cachedStatement`).
public struct Statement {
    let database: Database
    public let sql: String

    public func execute(arguments: StatementArguments = []) throws {
        try database.execute(sql: sql, arguments: arguments)
    }
}

extension Row {
    public static func fetchAll(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> [Row] {
        try db.rows(sql: sql, arguments: arguments)
    }

    public static func fetchOne(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> Row? {
        try db.rows(sql: sql, arguments: arguments).first
    }

    public static func fetchAll(_ statement: Statement, arguments: StatementArguments = []) throws -> [Row] {
        try fetchAll(statement.database, sql: statement.sql, arguments: arguments)
    }

    public static func fetchOne(_ statement: Statement, arguments: StatementArguments = []) throws -> Row? {
        try fetchOne(statement.database, sql: statement.sql, arguments: arguments)
    }
}

extension DatabaseValueConvertible {
    /// The first column of every row (a NULL there is a programming error).
    public static func fetchAll(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> [Self] {
        try db.rows(sql: sql, arguments: arguments).map { $0[0] as Self }
    }

    /// The first column of the first row; nil when there is no row or it is NULL.
    public static func fetchOne(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> Self? {
        try db.rows(sql: sql, arguments: arguments).first.flatMap { $0[0] as Self? }
    }

    public static func fetchAll(_ statement: Statement, arguments: StatementArguments = []) throws -> [Self] {
        try fetchAll(statement.database, sql: statement.sql, arguments: arguments)
    }

    public static func fetchOne(_ statement: Statement, arguments: StatementArguments = []) throws -> Self? {
        try fetchOne(statement.database, sql: statement.sql, arguments: arguments)
    }
}

extension DatabaseValueConvertible where Self: Hashable {
    public static func fetchSet(_ db: Database, sql: String, arguments: StatementArguments = []) throws -> Set<Self> {
        Set(try fetchAll(db, sql: sql, arguments: arguments))
    }
}

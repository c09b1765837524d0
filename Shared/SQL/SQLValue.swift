import Foundation
import GRDB

/// A value as SQL stores it: SQLite's five storage classes, which PostgreSQL's columns map onto (booleans become
/// integers, numerics become reals, dates are text in GRDB's format on both, so the same SQL compares them alike).
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let int): self = .integer(int)
        case .double(let double): self = .real(double)
        case .string(let string): self = .text(string)
        case .blob(let data): self = .blob(data)
        }
    }

    var grdb: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let int): int.databaseValue
        case .real(let double): double.databaseValue
        case .text(let string): string.databaseValue
        case .blob(let data): data.databaseValue
        }
    }

    public var isNull: Bool { self == .null }
}

/// A Swift value that can be bound to a statement and read back from a row. The standard types convert as GRDB
/// converts them (dates as "yyyy-MM-dd HH:mm:ss.SSS" in UTC), so databases written before this layer read the same.
public protocol DatabaseValueConvertible: Sendable {
    var sqlValue: SQLValue { get }
    static func fromSQLValue(_ value: SQLValue) -> Self?
}

/// The standard types: GRDB's own conversions, so both backends agree with what SQLite files already hold.
public protocol GRDBConvertedValue: DatabaseValueConvertible, GRDB.DatabaseValueConvertible {}

extension GRDBConvertedValue {
    public var sqlValue: SQLValue { SQLValue(databaseValue) }
    public static func fromSQLValue(_ value: SQLValue) -> Self? { fromDatabaseValue(value.grdb) }
}

extension Int: GRDBConvertedValue {}
extension Int64: GRDBConvertedValue {}
extension Int32: GRDBConvertedValue {}
extension Double: GRDBConvertedValue {}
extension Bool: GRDBConvertedValue {}
extension Data: GRDBConvertedValue {}
extension Date: GRDBConvertedValue {}

extension String: DatabaseValueConvertible {
    public var sqlValue: SQLValue { .text(self) }
    public static func fromSQLValue(_ value: SQLValue) -> String? {
        switch value {
        case .text(let string): string
        case .blob(let data): String(data: data, encoding: .utf8)
        default: nil
        }
    }
}

extension SQLValue: DatabaseValueConvertible {
    public var sqlValue: SQLValue { self }
    public static func fromSQLValue(_ value: SQLValue) -> SQLValue? { value }
}

extension DatabaseValueConvertible where Self: RawRepresentable, RawValue: DatabaseValueConvertible {
    public var sqlValue: SQLValue { rawValue.sqlValue }
    public static func fromSQLValue(_ value: SQLValue) -> Self? {
        RawValue.fromSQLValue(value).flatMap(Self.init(rawValue:))
    }
}

/// The values bound to a statement's `?` placeholders, in order.
public struct StatementArguments: Sendable, ExpressibleByArrayLiteral {
    public var values: [SQLValue]

    public init() { values = [] }

    public init(_ values: some Sequence<some DatabaseValueConvertible>) {
        self.values = values.map(\.sqlValue)
    }

    public init(_ values: some Sequence<(any DatabaseValueConvertible)?>) {
        self.values = values.map { $0?.sqlValue ?? .null }
    }

    public init(arrayLiteral elements: (any DatabaseValueConvertible)?...) {
        values = elements.map { $0?.sqlValue ?? .null }
    }

    public static func + (lhs: StatementArguments, rhs: StatementArguments) -> StatementArguments {
        var sum = lhs
        sum.values += rhs.values
        return sum
    }

    public static func += (lhs: inout StatementArguments, rhs: StatementArguments) {
        lhs.values += rhs.values
    }

    public mutating func append(_ value: (any DatabaseValueConvertible)?) {
        values.append(value?.sqlValue ?? .null)
    }

    var grdb: GRDB.StatementArguments { GRDB.StatementArguments(values.map(\.grdb)) }
}

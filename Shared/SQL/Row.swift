/// The columns of a result, shared by its rows: names in order and where each (lowercased) name is.
final class Columns: Sendable {
    let names: [String]
    private let index: [String: Int]

    init(_ names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated().reversed() { index[name.lowercased()] = position }
        self.index = index
    }

    /// The leftmost column of that name, compared case-insensitively as SQL does.
    func position(of name: String) -> Int? { index[name] ?? index[name.lowercased()] }
}

/// One row of a result. Read a column by name or position, as the type the caller wants:
/// `let id: Int64 = row["id"]`, `row["name"] as String?`. Asking for a non-optional value of a NULL column, or of a
/// column the query does not have, is a programming error and stops the process (as GRDB does).
public struct Row: Sendable {
    let columns: Columns
    public let values: [SQLValue]

    init(columns: Columns, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public func sqlValue(named name: String) -> SQLValue {
        guard let position = columns.position(of: name) else { preconditionFailure("no column \(name) in row") }
        return values[position]
    }

    public subscript<Value: DatabaseValueConvertible>(_ name: String) -> Value {
        Self.convert(sqlValue(named: name), column: name)
    }

    public subscript<Value: DatabaseValueConvertible>(_ name: String) -> Value? {
        Self.convertOptional(sqlValue(named: name), column: name)
    }

    public subscript<Value: DatabaseValueConvertible>(_ position: Int) -> Value {
        Self.convert(values[position], column: "#\(position)")
    }

    public subscript<Value: DatabaseValueConvertible>(_ position: Int) -> Value? {
        Self.convertOptional(values[position], column: "#\(position)")
    }

    private static func convert<Value: DatabaseValueConvertible>(_ value: SQLValue, column: String) -> Value {
        guard let converted = Value.fromSQLValue(value) else {
            preconditionFailure("could not read \(value) of column \(column) as \(Value.self)")
        }
        return converted
    }

    private static func convertOptional<Value: DatabaseValueConvertible>(_ value: SQLValue, column: String) -> Value? {
        if value.isNull { return nil }
        return convert(value, column: column) as Value
    }
}

extension Row: ExpressibleByDictionaryLiteral {
    /// A row built by hand, columns in the literal's order (tests, defaults).
    public init(dictionaryLiteral elements: (String, (any DatabaseValueConvertible)?)...) {
        self.init(columns: Columns(elements.map(\.0)), values: elements.map { $0.1?.sqlValue ?? .null })
    }
}

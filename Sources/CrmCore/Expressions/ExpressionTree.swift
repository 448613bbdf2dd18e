/// A parsed expression. Nodes keep the column they start at, for type errors.
public indirect enum ExpressionNode: Sendable, Hashable {
    case literal(ExpressionValue, column: Int)
    case path([String], column: Int)
    case list([ExpressionNode], column: Int)
    case not(ExpressionNode, column: Int)
    case negate(ExpressionNode, column: Int)
    case binary(BinaryOperator, ExpressionNode, ExpressionNode, column: Int)
    case call(ExpressionFunction, [ExpressionNode], column: Int)

    var column: Int {
        switch self {
        case .literal(_, let column), .path(_, let column), .list(_, let column), .not(_, let column),
             .negate(_, let column), .binary(_, _, _, let column), .call(_, _, let column):
            return column
        }
    }
}

public enum BinaryOperator: String, Sendable, Hashable {
    case and, or, equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=", `in`
}

/// The pure functions an expression may call.
public enum ExpressionFunction: String, Sendable, Hashable, CaseIterable {
    /// `len(text or list)` → number
    case len
    /// `now()` → date: the evaluation's clock, fixed per evaluation
    case now
    /// `days_since(date)` → number of days from the date to now (fractional)
    case daysSince = "days_since"
    /// `lower(text)` → text
    case lower
}

/// A value during evaluation. Dates are seconds since 1970 (UTC).
public enum ExpressionValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case date(Double)
    case list([ExpressionValue])
}

/// The static type of an expression or a field.
public enum ExpressionType: String, Sendable, Equatable {
    case bool, number, string, date, list, null
    /// A field whose type the schema does not fix (checked at evaluation time).
    case any
}

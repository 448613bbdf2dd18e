/// The fields an expression may read and their types, e.g. `stage: string`, `data.score: number`.
public struct ExpressionSchema: Sendable, Equatable {
    public var fields: [String: ExpressionType]

    public init(_ fields: [String: ExpressionType]) {
        self.fields = fields
    }
}

/// Reads field values during evaluation.
public protocol ExpressionContext {
    func value(of path: [String]) -> ExpressionValue
    /// The evaluation's clock, seconds since 1970.
    var now: Double { get }
}

/// A condition or guard of a definition (DESIGN §4): parsed and type-checked once, at publish time;
/// evaluation is pure, bounded and total (a type mismatch at run time is false, never a crash).
public struct CompiledExpression: Sendable, Hashable {
    public let source: String
    public let root: ExpressionNode
    public let type: ExpressionType
    let limits: ExpressionLimits

    /// Parses and checks `source`; `expecting` is the type the whole expression must have.
    public static func compile(_ source: String, schema: ExpressionSchema, expecting: ExpressionType = .bool,
                               limits: ExpressionLimits = .init()) throws(ExpressionError) -> CompiledExpression {
        let root = try ExpressionParser.parse(source, limits: limits)
        let type = try TypeChecker(schema: schema).check(root)
        guard expecting == .any || type == expecting || type == .any else {
            throw ExpressionError("the expression is a \(type.rawValue), but a \(expecting.rawValue) is needed", column: 1)
        }
        return CompiledExpression(source: source, root: root, type: type, limits: limits)
    }

    public func evaluate(_ context: any ExpressionContext) throws(ExpressionError) -> ExpressionValue {
        var evaluator = Evaluator(context: context, limit: limits.maxSteps)
        return try evaluator.evaluate(root)
    }

    /// For conditions: true only when the expression evaluates to true.
    public func holds(_ context: any ExpressionContext) -> Bool {
        (try? evaluate(context)) == .bool(true)
    }
}

struct TypeChecker {
    let schema: ExpressionSchema

    func check(_ node: ExpressionNode) throws(ExpressionError) -> ExpressionType {
        switch node {
        case .literal(let value, _):
            switch value {
            case .null: return .null
            case .bool: return .bool
            case .number: return .number
            case .string: return .string
            case .date: return .date
            case .list: return .list
            }
        case .path(let parts, let column):
            let name = parts.joined(separator: ".")
            guard let type = schema.fields[name] else {
                throw ExpressionError("unknown field '\(name)'", column: column)
            }
            return type
        case .list(let items, _):
            for item in items { _ = try check(item) }
            return .list
        case .not(let inner, let column):
            try expect(try check(inner), [.bool], column: column, what: "'not'")
            return .bool
        case .negate(let inner, let column):
            try expect(try check(inner), [.number], column: column, what: "'-'")
            return .number
        case .binary(let op, let left, let right, let column):
            let (l, r) = (try check(left), try check(right))
            switch op {
            case .and, .or:
                try expect(l, [.bool], column: left.column, what: "'\(op.rawValue)'")
                try expect(r, [.bool], column: right.column, what: "'\(op.rawValue)'")
            case .equal, .notEqual:
                guard l == r || [l, r].contains(.null) || [l, r].contains(.any) else {
                    throw ExpressionError("cannot compare a \(l.rawValue) with a \(r.rawValue)", column: column)
                }
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                guard (l == r || l == .any || r == .any), [.number, .string, .date, .any].contains(l == .any ? r : l) else {
                    throw ExpressionError("'\(op.rawValue)' compares two numbers, two strings or two dates, not a \(l.rawValue) and a \(r.rawValue)", column: column)
                }
            case .in:
                try expect(r, [.list], column: right.column, what: "'in'")
            }
            return .bool
        case .call(let function, let arguments, let column):
            let types = try arguments.map { node throws(ExpressionError) in try check(node) }
            func arity(_ count: Int) throws(ExpressionError) {
                guard types.count == count else { throw ExpressionError("\(function.rawValue)() takes \(count) argument\(count == 1 ? "" : "s")", column: column) }
            }
            switch function {
            case .len:
                try arity(1)
                try expect(types[0], [.string, .list], column: column, what: "len()")
                return .number
            case .now:
                try arity(0)
                return .date
            case .daysSince:
                try arity(1)
                try expect(types[0], [.date], column: column, what: "days_since()")
                return .number
            case .lower:
                try arity(1)
                try expect(types[0], [.string], column: column, what: "lower()")
                return .string
            }
        }
    }

    private func expect(_ type: ExpressionType, _ allowed: [ExpressionType], column: Int, what: String) throws(ExpressionError) {
        guard type == .any || allowed.contains(type) else {
            throw ExpressionError("\(what) needs a \(allowed.map(\.rawValue).joined(separator: " or ")), not a \(type.rawValue)", column: column)
        }
    }
}

struct Evaluator {
    let context: any ExpressionContext
    let limit: Int
    var steps = 0

    init(context: any ExpressionContext, limit: Int) {
        self.context = context
        self.limit = limit
    }

    mutating func evaluate(_ node: ExpressionNode) throws(ExpressionError) -> ExpressionValue {
        steps += 1
        if steps > limit { throw ExpressionError("evaluation took more than \(limit) steps", column: node.column) }
        switch node {
        case .literal(let value, _): return value
        case .path(let parts, _): return context.value(of: parts)
        case .list(let items, _): return .list(try items.map { node throws(ExpressionError) in try evaluate(node) })
        case .not(let inner, _):
            guard case .bool(let value) = try evaluate(inner) else { return .null }
            return .bool(!value)
        case .negate(let inner, _):
            guard case .number(let value) = try evaluate(inner) else { return .null }
            return .number(-value)
        case .binary(let op, let left, let right, _):
            switch op {
            case .and:
                guard try evaluate(left) == .bool(true) else { return .bool(false) }
                return .bool(try evaluate(right) == .bool(true))
            case .or:
                if try evaluate(left) == .bool(true) { return .bool(true) }
                return .bool(try evaluate(right) == .bool(true))
            case .equal: return .bool(try evaluate(left) == evaluate(right))
            case .notEqual: return .bool(try evaluate(left) != evaluate(right))
            case .in:
                let needle = try evaluate(left)
                guard case .list(let items) = try evaluate(right) else { return .bool(false) }
                steps += items.count
                return .bool(items.contains(needle))
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                guard let order = Self.order(try evaluate(left), try evaluate(right)) else { return .bool(false) }
                switch op {
                case .less: return .bool(order < 0)
                case .lessOrEqual: return .bool(order <= 0)
                case .greater: return .bool(order > 0)
                default: return .bool(order >= 0)
                }
            }
        case .call(let function, let arguments, _):
            let values = try arguments.map { node throws(ExpressionError) in try evaluate(node) }
            switch function {
            case .len:
                switch values.first {
                case .string(let text)?: return .number(Double(text.count))
                case .list(let items)?: return .number(Double(items.count))
                default: return .null
                }
            case .now: return .date(context.now)
            case .daysSince:
                guard case .date(let date)? = values.first else { return .null }
                return .number((context.now - date) / 86_400)
            case .lower:
                guard case .string(let text)? = values.first else { return .null }
                return .string(text.lowercased())
            }
        }
    }

    /// -1, 0, 1 for two values of one ordered kind; nil otherwise.
    static func order(_ left: ExpressionValue, _ right: ExpressionValue) -> Int? {
        switch (left, right) {
        case (.number(let a), .number(let b)), (.date(let a), .date(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        case (.string(let a), .string(let b)): return a < b ? -1 : (a == b ? 0 : 1)
        default: return nil
        }
    }
}

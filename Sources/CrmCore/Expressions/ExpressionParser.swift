/// Recursive descent over the tokens, with a depth bound so hostile nesting cannot exhaust the stack.
struct ExpressionParser {
    private let tokens: [LexedToken]
    private let limits: ExpressionLimits
    private var index = 0
    private var depth = 0

    static let keywords: Set<String> = ["and", "or", "not", "in", "true", "false", "null"]

    init(tokens: [LexedToken], limits: ExpressionLimits) {
        self.tokens = tokens
        self.limits = limits
    }

    static func parse(_ source: String, limits: ExpressionLimits) throws(ExpressionError) -> ExpressionNode {
        var parser = ExpressionParser(tokens: try Lexer.tokens(source, limits: limits), limits: limits)
        guard parser.current.token != .end else { throw ExpressionError("the expression is empty", column: 1) }
        let node = try parser.orExpression()
        guard parser.current.token == .end else { throw ExpressionError("unexpected \(parser.describe(parser.current.token))", column: parser.current.column) }
        return node
    }

    private var current: LexedToken { tokens[index] }

    private mutating func advance() -> LexedToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func isKeyword(_ word: String) -> Bool { current.token == .identifier(word) }

    private mutating func enter() throws(ExpressionError) {
        depth += 1
        if depth > limits.maxDepth { throw ExpressionError("the expression nests deeper than \(limits.maxDepth) levels", column: current.column) }
    }

    private mutating func orExpression() throws(ExpressionError) -> ExpressionNode {
        try enter()
        defer { depth -= 1 }
        var left = try andExpression()
        while isKeyword("or") {
            let column = advance().column
            left = .binary(.or, left, try andExpression(), column: column)
        }
        return left
    }

    private mutating func andExpression() throws(ExpressionError) -> ExpressionNode {
        var left = try notExpression()
        while isKeyword("and") {
            let column = advance().column
            left = .binary(.and, left, try notExpression(), column: column)
        }
        return left
    }

    private mutating func notExpression() throws(ExpressionError) -> ExpressionNode {
        if isKeyword("not") {
            try enter()
            defer { depth -= 1 }
            let column = advance().column
            return .not(try notExpression(), column: column)
        }
        return try comparison()
    }

    private mutating func comparison() throws(ExpressionError) -> ExpressionNode {
        let left = try unary()
        let column = current.column
        let comparisonOperator: BinaryOperator?
        switch current.token {
        case .op(let text): comparisonOperator = BinaryOperator(rawValue: text)
        case .identifier("in"): comparisonOperator = .in
        default: comparisonOperator = nil
        }
        guard let comparisonOperator else { return left }
        _ = advance()
        let right = try unary()
        if case .op(let text) = current.token, BinaryOperator(rawValue: text) != nil {
            throw ExpressionError("comparisons do not chain; use 'and'", column: current.column)
        }
        return .binary(comparisonOperator, left, right, column: column)
    }

    private mutating func unary() throws(ExpressionError) -> ExpressionNode {
        if current.token == .op("-") {
            try enter()
            defer { depth -= 1 }
            let column = advance().column
            return .negate(try unary(), column: column)
        }
        return try primary()
    }

    private mutating func primary() throws(ExpressionError) -> ExpressionNode {
        let token = advance()
        switch token.token {
        case .number(let value): return .literal(.number(value), column: token.column)
        case .string(let text): return .literal(.string(text), column: token.column)
        case .leftParen:
            let inner = try orExpression()
            guard advance().token == .rightParen else { throw ExpressionError("')' expected", column: tokens[index - 1].column) }
            return inner
        case .leftBracket:
            try enter()
            defer { depth -= 1 }
            var items: [ExpressionNode] = []
            if current.token != .rightBracket {
                repeat {
                    if current.token == .comma { _ = advance() }
                    items.append(try unary())
                    if items.count > limits.maxListItems { throw ExpressionError("a list holds at most \(limits.maxListItems) items", column: current.column) }
                } while current.token == .comma
            }
            guard advance().token == .rightBracket else { throw ExpressionError("']' expected", column: tokens[index - 1].column) }
            return .list(items, column: token.column)
        case .identifier(let name):
            switch name {
            case "true": return .literal(.bool(true), column: token.column)
            case "false": return .literal(.bool(false), column: token.column)
            case "null": return .literal(.null, column: token.column)
            default: break
            }
            guard !Self.keywords.contains(name) else { throw ExpressionError("'\(name)' cannot stand here", column: token.column) }
            if current.token == .leftParen {
                guard let function = ExpressionFunction(rawValue: name) else {
                    throw ExpressionError("unknown function '\(name)'; known: \(ExpressionFunction.allCases.map(\.rawValue).joined(separator: ", "))", column: token.column)
                }
                _ = advance()
                var arguments: [ExpressionNode] = []
                if current.token != .rightParen {
                    repeat {
                        if current.token == .comma { _ = advance() }
                        arguments.append(try orExpression())
                    } while current.token == .comma && arguments.count < 8
                }
                guard advance().token == .rightParen else { throw ExpressionError("')' expected", column: tokens[index - 1].column) }
                return .call(function, arguments, column: token.column)
            }
            var path = [name]
            while current.token == .dot {
                _ = advance()
                guard case .identifier(let part) = advance().token, !Self.keywords.contains(part) else {
                    throw ExpressionError("a field name is expected after '.'", column: tokens[index - 1].column)
                }
                path.append(part)
                if path.count > 8 { throw ExpressionError("a field path has at most 8 parts", column: token.column) }
            }
            return .path(path, column: token.column)
        case .end:
            throw ExpressionError("the expression ends too early", column: token.column)
        default:
            throw ExpressionError("unexpected \(describe(token.token))", column: token.column)
        }
    }

    private func describe(_ token: Token) -> String {
        switch token {
        case .number(let value): return "number \(value)"
        case .string: return "string"
        case .identifier(let name): return "'\(name)'"
        case .op(let text): return "'\(text)'"
        case .leftParen: return "'('"
        case .rightParen: return "')'"
        case .leftBracket: return "'['"
        case .rightBracket: return "']'"
        case .comma: return "','"
        case .dot: return "'.'"
        case .end: return "end of expression"
        }
    }
}

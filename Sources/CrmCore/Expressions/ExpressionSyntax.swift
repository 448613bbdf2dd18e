/// Where in the source an expression error is: a 1-based character column.
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let column: Int

    public init(_ message: String, column: Int) {
        self.message = message
        self.column = column
    }

    public var description: String { "column \(column): \(message)" }
}

/// The limits that keep every expression cheap and total (SEC-CRM-0443).
public struct ExpressionLimits: Sendable, Hashable {
    public var maxLength: Int
    public var maxDepth: Int
    public var maxListItems: Int
    public var maxSteps: Int

    public init(maxLength: Int = 2000, maxDepth: Int = 32, maxListItems: Int = 256, maxSteps: Int = 10_000) {
        self.maxLength = maxLength
        self.maxDepth = maxDepth
        self.maxListItems = maxListItems
        self.maxSteps = maxSteps
    }
}

enum Token: Equatable {
    case number(Double)
    case string(String)
    case identifier(String)
    case op(String)
    case leftParen, rightParen, leftBracket, rightBracket, comma, dot
    case end
}

struct LexedToken {
    let token: Token
    let column: Int
}

/// Splits the source into tokens. Only a small, fixed alphabet is accepted: anything else (quotes
/// left open, `;`, `$`, `{`, backticks, control characters…) is an error at its column.
enum Lexer {
    static func tokens(_ source: String, limits: ExpressionLimits) throws(ExpressionError) -> [LexedToken] {
        let characters = Array(source)
        guard characters.count <= limits.maxLength else {
            throw ExpressionError("the expression is longer than \(limits.maxLength) characters", column: limits.maxLength + 1)
        }
        var tokens: [LexedToken] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let column = index + 1
            if character == " " || character == "\t" || character == "\n" { index += 1; continue }
            if character.isASCII, character.isNumber {
                var end = index
                var seenDot = false
                while end < characters.count, characters[end].isASCII, characters[end].isNumber || (characters[end] == "." && !seenDot) {
                    if characters[end] == "." { seenDot = true }
                    end += 1
                }
                guard let value = Double(String(characters[index..<end])), value.isFinite, end - index <= 20 else {
                    throw ExpressionError("'\(String(characters[index..<end]))' is not a number", column: column)
                }
                tokens.append(LexedToken(token: .number(value), column: column))
                index = end
                continue
            }
            if character == "'" || character == "\"" {
                var end = index + 1
                var text = ""
                while end < characters.count, characters[end] != character {
                    if characters[end] == "\\" {
                        guard end + 1 < characters.count, characters[end + 1] == character || characters[end + 1] == "\\" else {
                            throw ExpressionError("only \\\(character) and \\\\ may be escaped in a string", column: end + 1)
                        }
                        end += 1
                    }
                    guard !characters[end].isNewline, characters[end].asciiValue.map({ $0 >= 0x20 }) ?? true else {
                        throw ExpressionError("a string may not hold control characters", column: end + 1)
                    }
                    text.append(characters[end])
                    end += 1
                }
                guard end < characters.count else { throw ExpressionError("the string is not closed", column: column) }
                tokens.append(LexedToken(token: .string(text), column: column))
                index = end + 1
                continue
            }
            if character.isASCII, character.isLetter || character == "_" {
                var end = index
                while end < characters.count, characters[end].isASCII, characters[end].isLetter || characters[end].isNumber || characters[end] == "_" { end += 1 }
                guard end - index <= 64 else { throw ExpressionError("a name is longer than 64 characters", column: column) }
                tokens.append(LexedToken(token: .identifier(String(characters[index..<end])), column: column))
                index = end
                continue
            }
            let two = index + 1 < characters.count ? String(characters[index...index + 1]) : ""
            if ["==", "!=", "<=", ">="].contains(two) {
                tokens.append(LexedToken(token: .op(two), column: column))
                index += 2
                continue
            }
            let single: Token?
            switch character {
            case "<", ">", "-": single = .op(String(character))
            case "(": single = .leftParen
            case ")": single = .rightParen
            case "[": single = .leftBracket
            case "]": single = .rightBracket
            case ",": single = .comma
            case ".": single = .dot
            default: single = nil
            }
            guard let single else {
                throw ExpressionError("'\(character)' is not allowed in an expression", column: column)
            }
            tokens.append(LexedToken(token: single, column: column))
            index += 1
        }
        tokens.append(LexedToken(token: .end, column: characters.count + 1))
        return tokens
    }
}

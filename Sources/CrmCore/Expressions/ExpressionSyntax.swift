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
        // Nearly every expression is plain ASCII: lexed byte by byte, the same tokens and errors at
        // the same columns, several times faster than through Characters (`crm-microbench`:
        // definition.compile). Anything else (and a CR, which joins a following LF into one
        // Character) takes the general path.
        let bytes = Array(source.utf8)
        if bytes.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) { return try asciiTokens(bytes, limits: limits) }
        return try characterTokens(source, limits: limits)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func asciiTokens(_ bytes: [UInt8], limits: ExpressionLimits) throws(ExpressionError) -> [LexedToken] {
        guard bytes.count <= limits.maxLength else {
            throw ExpressionError("the expression is longer than \(limits.maxLength) characters", column: limits.maxLength + 1)
        }
        func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        var tokens: [LexedToken] = []
        tokens.reserveCapacity(bytes.count / 3 + 1)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let column = index + 1
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") { index += 1; continue }
            if isDigit(byte) {
                var end = index
                var seenDot = false
                while end < bytes.count, isDigit(bytes[end]) || (bytes[end] == UInt8(ascii: ".") && !seenDot) {
                    if bytes[end] == UInt8(ascii: ".") { seenDot = true }
                    end += 1
                }
                guard let value = Double(text(index..<end)), value.isFinite, end - index <= 20 else {
                    throw ExpressionError("'\(text(index..<end))' is not a number", column: column)
                }
                tokens.append(LexedToken(token: .number(value), column: column))
                index = end
                continue
            }
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                var end = index + 1
                var content: [UInt8] = []
                while end < bytes.count, bytes[end] != byte {
                    if bytes[end] == UInt8(ascii: "\\") {
                        guard end + 1 < bytes.count, bytes[end + 1] == byte || bytes[end + 1] == UInt8(ascii: "\\") else {
                            throw ExpressionError("only \\\(Character(Unicode.Scalar(byte))) and \\\\ may be escaped in a string", column: end + 1)
                        }
                        end += 1
                    }
                    guard bytes[end] >= 0x20 else { throw ExpressionError("a string may not hold control characters", column: end + 1) }
                    content.append(bytes[end])
                    end += 1
                }
                guard end < bytes.count else { throw ExpressionError("the string is not closed", column: column) }
                tokens.append(LexedToken(token: .string(String(decoding: content, as: UTF8.self)), column: column))
                index = end + 1
                continue
            }
            if isLetter(byte) || byte == UInt8(ascii: "_") {
                var end = index
                while end < bytes.count, isLetter(bytes[end]) || isDigit(bytes[end]) || bytes[end] == UInt8(ascii: "_") { end += 1 }
                guard end - index <= 64 else { throw ExpressionError("a name is longer than 64 characters", column: column) }
                tokens.append(LexedToken(token: .identifier(text(index..<end)), column: column))
                index = end
                continue
            }
            if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "="),
               byte == UInt8(ascii: "=") || byte == UInt8(ascii: "!") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") {
                tokens.append(LexedToken(token: .op(text(index..<index + 2)), column: column))
                index += 2
                continue
            }
            let single: Token?
            switch byte {
            case UInt8(ascii: "<"): single = .op("<")
            case UInt8(ascii: ">"): single = .op(">")
            case UInt8(ascii: "-"): single = .op("-")
            case UInt8(ascii: "("): single = .leftParen
            case UInt8(ascii: ")"): single = .rightParen
            case UInt8(ascii: "["): single = .leftBracket
            case UInt8(ascii: "]"): single = .rightBracket
            case UInt8(ascii: ","): single = .comma
            case UInt8(ascii: "."): single = .dot
            default: single = nil
            }
            guard let single else {
                throw ExpressionError("'\(Character(Unicode.Scalar(byte)))' is not allowed in an expression", column: column)
            }
            tokens.append(LexedToken(token: single, column: column))
            index += 1
        }
        tokens.append(LexedToken(token: .end, column: bytes.count + 1))
        return tokens
    }

    /// The general path, over Characters (columns count Characters).
    private static func characterTokens(_ source: String, limits: ExpressionLimits) throws(ExpressionError) -> [LexedToken] {
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

/// Tokens of the IDL. Newlines are tokens: an operation is one line.
enum TokenKind: Equatable, Sendable {
    case identifier(String)
    case integer(UInt64)
    case lparen, rparen, lbracket, rbracket, colon, comma, arrow
    case newline
    case eof
}

struct Token: Equatable, Sendable {
    var kind: TokenKind
    var location: SourceLocation

    /// How the token is named in error messages.
    var display: String {
        switch kind {
        case .identifier(let s): return "'\(s)'"
        case .integer(let n): return "'\(n)'"
        case .lparen: return "'('"
        case .rparen: return "')'"
        case .lbracket: return "'['"
        case .rbracket: return "']'"
        case .colon: return "':'"
        case .comma: return "','"
        case .arrow: return "'->'"
        case .newline: return "end of line"
        case .eof: return "end of file"
        }
    }
}

/// Splits an IDL file into tokens. `#` starts a comment that runs to the end
/// of the line. Integers are decimal or `0x` hexadecimal.
struct Lexer {
    private let chars: [Character]
    private let file: String
    private var index = 0
    private var line = 1
    private var column = 1

    init(source: String, file: String) {
        chars = Array(source)
        self.file = file
    }

    mutating func tokenize() throws(IDLError) -> [Token] {
        var tokens: [Token] = []
        while true {
            let t = try next()
            tokens.append(t)
            if t.kind == .eof { return tokens }
        }
    }

    private var here: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    private func peek(_ ahead: Int = 0) -> Character? {
        index + ahead < chars.count ? chars[index + ahead] : nil
    }

    private mutating func advance() {
        if chars[index] == "\n" || chars[index] == "\r\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private mutating func next() throws(IDLError) -> Token {
        // Spaces, tabs, carriage returns and comments separate tokens.
        while let c = peek() {
            if c == " " || c == "\t" || c == "\r" {
                advance()
                continue
            }
            if c == "#" {
                while let d = peek(), d != "\n" && d != "\r\n" { advance() }
                continue
            }
            break
        }
        let start = here
        guard let c = peek() else { return Token(kind: .eof, location: start) }
        let single: [Character: TokenKind] = [
            "(": .lparen, ")": .rparen, "[": .lbracket, "]": .rbracket,
            ":": .colon, ",": .comma, "\n": .newline, "\r\n": .newline
        ]
        if let kind = single[c] {
            advance()
            return Token(kind: kind, location: start)
        }
        if c == "-" {
            advance()
            guard peek() == ">" else {
                throw IDLError(location: start, message: "expected '->' after '-'")
            }
            advance()
            return Token(kind: .arrow, location: start)
        }
        if c.isASCII && (c.isLetter || c == "_") {
            var s = ""
            while let d = peek(), d.isASCII && (d.isLetter || d.isNumber || d == "_") {
                s.append(d)
                advance()
            }
            return Token(kind: .identifier(s), location: start)
        }
        if c.isASCII && c.isNumber {
            var s = ""
            while let d = peek(), d.isASCII && (d.isLetter || d.isNumber || d == "_") {
                s.append(d)
                advance()
            }
            let value: UInt64?
            if s.hasPrefix("0x") || s.hasPrefix("0X") {
                value = s.count > 2 ? UInt64(s.dropFirst(2), radix: 16) : nil
            } else {
                value = UInt64(s)
            }
            guard let value else {
                throw IDLError(location: start, message: "invalid integer '\(s)'")
            }
            return Token(kind: .integer(value), location: start)
        }
        let scalar = c.unicodeScalars.first
        let shown: String
        if let scalar, scalar.value >= 32, scalar.value != 127, !scalar.properties.isWhitespace {
            shown = "'\(c)'"
        } else {
            let hex = String(scalar?.value ?? 0, radix: 16, uppercase: true)
            shown = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
        throw IDLError(location: start, message: "unexpected character \(shown)")
    }
}

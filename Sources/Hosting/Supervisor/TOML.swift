/// A deliberately small, strict subset of TOML — what a stack file needs and
/// nothing more (docs/supervision.md):
///
/// - `# comments` (anywhere outside a string), blank lines;
/// - table headers `[name]` and `[name.sub]` (bare keys: letters, digits, `_`, `-`);
/// - `key = value` with a bare key, where value is one of
///   a basic string `"..."` (escapes `\" \\ \n \t`), a literal string `'...'`,
///   a decimal integer (optional sign, `_` between digits), `true`/`false`,
///   or an array of strings on one line (`["a", 'b',]`).
///
/// Everything else (inline tables, dotted keys, floats, dates, multi-line
/// strings or arrays, a key or table defined twice) is an error naming the
/// line. Semantics (which tables and keys exist) belong to StackConfig.
public enum TOMLValue: Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    case boolean(Bool)
    case strings([String])

    public var typeName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .boolean: return "a boolean"
        case .strings: return "an array of strings"
        }
    }
    public var description: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return "\(i)"
        case .boolean(let b): return "\(b)"
        case .strings(let a): return "[" + a.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        }
    }
}

/// One `key = value`, with the line it is on (for error messages).
public struct TOMLEntry: Equatable, Sendable {
    public let key: String
    public let value: TOMLValue
    public let line: Int
}

/// One table: its dotted path (`["server", "a"]`, `[]` for the keys before
/// the first header), its entries in file order, the line of its header.
public struct TOMLTable: Equatable, Sendable {
    public let path: [String]
    public var entries: [TOMLEntry]
    public let line: Int
    public subscript(key: String) -> TOMLEntry? { entries.first { $0.key == key } }
}

/// A problem in a configuration file: `FILE:LINE: message` (line 0: the file
/// as a whole).
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let message: String
    public init(file: String, line: Int, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

public enum TOMLParser {
    /// Parse `text`; `file` is only used in error messages.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> [TOMLTable] {
        var tables = [TOMLTable(path: [], entries: [], line: 0)]
        var seenHeaders: [String: Int] = [:]
        var lineNo = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            var cur = Cursor(Array(rawLine.utf8), file: file, line: lineNo)
            if cur.bytes.last == UInt8(ascii: "\r") { cur.bytes.removeLast() }
            cur.skipSpaces()
            if cur.atEndOrComment { continue }
            if cur.peek == UInt8(ascii: "[") {
                cur.pos += 1
                if cur.peek == UInt8(ascii: "[") { throw cur.error("arrays of tables ([[...]]) are not supported") }
                var path: [String] = []
                while true {
                    cur.skipSpaces()
                    path.append(try cur.bareKey(what: "table name"))
                    cur.skipSpaces()
                    if cur.peek == UInt8(ascii: ".") {
                        cur.pos += 1
                        continue
                    }
                    guard cur.peek == UInt8(ascii: "]") else { throw cur.error("expected `]` to close the table header") }
                    cur.pos += 1
                    break
                }
                try cur.expectEndOfLine()
                let name = path.joined(separator: ".")
                if let first = seenHeaders[name] { throw cur.error("table [\(name)] is already defined on line \(first)") }
                seenHeaders[name] = lineNo
                tables.append(TOMLTable(path: path, entries: [], line: lineNo))
                continue
            }
            let key = try cur.bareKey(what: "key")
            cur.skipSpaces()
            if cur.peek == UInt8(ascii: ".") { throw cur.error("dotted keys are not supported; use a [table] header") }
            guard cur.peek == UInt8(ascii: "=") else { throw cur.error("expected `=` after key `\(key)`") }
            cur.pos += 1
            cur.skipSpaces()
            let value = try cur.value()
            try cur.expectEndOfLine()
            if let prev = tables[tables.count - 1][key] {
                throw cur.error("key `\(key)` is already set on line \(prev.line)")
            }
            tables[tables.count - 1].entries.append(TOMLEntry(key: key, value: value, line: lineNo))
        }
        return tables
    }

    struct Cursor {
        var bytes: [UInt8]
        var pos = 0
        let file: String
        let line: Int
        init(_ b: [UInt8], file: String, line: Int) {
            bytes = b
            self.file = file
            self.line = line
        }

        var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }
        var atEndOrComment: Bool { peek == nil || peek == UInt8(ascii: "#") }
        func error(_ m: String) -> ConfigError { ConfigError(file: file, line: line, m) }

        mutating func skipSpaces() {
            while let c = peek, c == 0x20 || c == 0x09 { pos += 1 }
        }
        mutating func expectEndOfLine() throws(ConfigError) {
            skipSpaces()
            guard atEndOrComment else {
                throw error("unexpected `\(String(decoding: bytes[pos...], as: UTF8.self))` at the end of the line")
            }
        }
        static func isBare(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2d
        }
        mutating func bareKey(what: String) throws(ConfigError) -> String {
            let start = pos
            while let c = peek, Self.isBare(c) { pos += 1 }
            if pos == start {
                if peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "'") {
                    throw error("quoted \(what)s are not supported; use letters, digits, `_` and `-`")
                }
                throw error("expected a \(what) (letters, digits, `_`, `-`)")
            }
            return String(decoding: bytes[start..<pos], as: UTF8.self)
        }

        mutating func value() throws(ConfigError) -> TOMLValue {
            guard let c = peek, c != UInt8(ascii: "#") else { throw error("missing value after `=`") }
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): return .string(try string())
            case UInt8(ascii: "["): return .strings(try array())
            case UInt8(ascii: "{"): throw error("inline tables are not supported")
            default:
                let start = pos
                while let d = peek, d != 0x20, d != 0x09, d != UInt8(ascii: "#"), d != UInt8(ascii: ","), d != UInt8(ascii: "]") {
                    pos += 1
                }
                let word = String(decoding: bytes[start..<pos], as: UTF8.self)
                if word == "true" { return .boolean(true) }
                if word == "false" { return .boolean(false) }
                if let i = Self.integer(word) { return .integer(i) }
                throw error("invalid value `\(word)` (expected a \"string\", an integer, true/false or [\"array\", \"of\", \"strings\"])")
            }
        }

        static func integer(_ w: String) -> Int64? {
            var s = Substring(w)
            var sign: Int64 = 1
            if s.first == "+" || s.first == "-" {
                if s.first == "-" { sign = -1 }
                s = s.dropFirst()
            }
            guard let f = s.first, f.isASCII, f.isNumber, let l = s.last, l.isNumber else { return nil }
            if s.count > 1 && f == "0" { return nil }  // TOML: no leading zeros
            var prevUnderscore = false
            var digits = ""
            for ch in s {
                if ch == "_" {
                    if prevUnderscore { return nil }
                    prevUnderscore = true
                    continue
                }
                guard ch.isASCII, ch.isNumber else { return nil }
                prevUnderscore = false
                digits.append(ch)
            }
            guard let v = Int64(digits) else { return nil }
            return sign * v
        }

        mutating func string() throws(ConfigError) -> String {
            let quote = bytes[pos]
            pos += 1
            var out: [UInt8] = []
            while true {
                guard let c = peek else {
                    throw error(
                        quote == UInt8(ascii: "\"")
                            ? "unterminated string (missing `\"`; multi-line strings are not supported)"
                            : "unterminated string (missing `'`)")
                }
                pos += 1
                if c == quote { break }
                if c < 0x20 && c != 0x09 { throw error("control character in a string") }
                if quote == UInt8(ascii: "\""), c == UInt8(ascii: "\\") {
                    guard let e = peek else { throw error("unterminated escape at the end of the line") }
                    pos += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(e)
                    case UInt8(ascii: "\\"): out.append(e)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "t"): out.append(0x09)
                    default: throw error("unsupported escape `\\\(String(decoding: [e], as: UTF8.self))` (supported: \\\" \\\\ \\n \\t)")
                    }
                    continue
                }
                out.append(c)
            }
            return String(decoding: out, as: UTF8.self)
        }

        mutating func array() throws(ConfigError) -> [String] {
            pos += 1  // [
            var items: [String] = []
            while true {
                skipSpaces()
                guard let c = peek, c != UInt8(ascii: "#") else { throw error("unterminated array (arrays must be on one line)") }
                if c == UInt8(ascii: "]") {
                    pos += 1
                    return items
                }
                guard c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") else {
                    throw error("arrays may only hold strings")
                }
                items.append(try string())
                skipSpaces()
                if peek == UInt8(ascii: ",") {
                    pos += 1
                    continue
                }
                if peek == UInt8(ascii: "]") {
                    pos += 1
                    return items
                }
                throw error("expected `,` or `]` in the array")
            }
        }
    }
}

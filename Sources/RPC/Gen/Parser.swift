/// Parses the tokens of one IDL file into interface declarations and checks
/// them (ids, names, types). Grammar (docs/idl.md):
///
///     file      := { interface }
///     interface := 'interface' NAME 'id' INT 'version' INT EOL { op EOL } 'end' EOL
///     op        := 'op' INT NAME '(' [fields] ')' '->' '(' [fields] ')' ['idempotent']
///     fields    := field { ',' field }
///     field     := NAME ':' type
///     type      := u8 | u16 | u32 | u64 | i32 | i64 | bool | bytes | string | shm | fd | '[' INTTYPE ']'
struct Parser {
    private let tokens: [Token]
    private var index = 0

    init(tokens: [Token]) { self.tokens = tokens }

    /// Parse `source` (the contents of `file`) into its interfaces.
    static func parse(source: String, file: String) throws(IDLError) -> [InterfaceDecl] {
        var lexer = Lexer(source: source, file: file)
        var parser = Parser(tokens: try lexer.tokenize())
        return try parser.parseFile()
    }

    mutating func parseFile() throws(IDLError) -> [InterfaceDecl] {
        var interfaces: [InterfaceDecl] = []
        skipNewlines()
        while current.kind != .eof {
            let decl = try parseInterface()
            if let other = interfaces.first(where: { $0.name == decl.name }) {
                throw IDLError(
                    location: decl.location, message: "interface '\(decl.name)' is already declared at line \(other.location.line)")
            }
            if let other = interfaces.first(where: { $0.id == decl.id }) {
                throw IDLError(
                    location: decl.location,
                    message: "interface id \(decl.id) is already used by '\(other.name)' at line \(other.location.line)")
            }
            interfaces.append(decl)
            skipNewlines()
        }
        if interfaces.isEmpty {
            throw IDLError(location: current.location, message: "expected 'interface', found end of file")
        }
        return interfaces
    }

    // MARK: - Interfaces and operations

    private mutating func parseInterface() throws(IDLError) -> InterfaceDecl {
        let start = current.location
        try expectKeyword("interface")
        let (name, nameLoc) = try expectIdentifier("an interface name")
        try Names.checkInterfaceName(name, at: nameLoc)
        try expectKeyword("id")
        let id = try expectUInt32("an interface id")
        if id.value == 0 {
            throw IDLError(location: id.location, message: "interface id 0 is reserved for the control interface")
        }
        try expectKeyword("version")
        let version = try expectUInt32("an interface version")
        if version.value == 0 {
            throw IDLError(location: version.location, message: "interface version must be at least 1")
        }
        try expectEndOfLine()
        var ops: [OperationDecl] = []
        while true {
            skipNewlines()
            if case .identifier("end") = current.kind {
                advance()
                break
            }
            if current.kind == .eof {
                throw IDLError(
                    location: current.location,
                    message: "expected 'op' or 'end', found end of file (interface '\(name)' started at line \(start.line))")
            }
            guard case .identifier("op") = current.kind else {
                throw IDLError(location: current.location, message: "expected 'op' or 'end', found \(current.display)")
            }
            let op = try parseOperation()
            if let other = ops.first(where: { $0.id == op.id }) {
                throw IDLError(
                    location: op.location,
                    message: "operation id \(op.id) is already used by '\(other.name)' at line \(other.location.line)")
            }
            if let other = ops.first(where: { $0.name == op.name || Names.upperCamel($0.name) == Names.upperCamel(op.name) }) {
                throw IDLError(
                    location: op.location, message: "operation '\(op.name)' clashes with '\(other.name)' at line \(other.location.line)")
            }
            ops.append(op)
            try expectEndOfLine()
        }
        if ops.isEmpty {
            throw IDLError(location: start, message: "interface '\(name)' declares no operations")
        }
        if current.kind != .eof { try expectEndOfLine() }
        return InterfaceDecl(name: name, id: id.value, version: version.value, operations: ops, location: start)
    }

    private mutating func parseOperation() throws(IDLError) -> OperationDecl {
        let start = current.location
        try expectKeyword("op")
        let id = try expectUInt32("an operation id")
        if id.value == 0 {
            throw IDLError(location: id.location, message: "operation id must be at least 1")
        }
        let (name, nameLoc) = try expectIdentifier("an operation name")
        try Names.checkOperationName(name, at: nameLoc)
        try expect(.lparen, "'(' after the operation name")
        let request = try parseFields(isRequest: true)
        try expect(.rparen, "')' or ',' after a request field")
        try expect(.arrow, "'->' after the request fields")
        try expect(.lparen, "'(' before the reply fields")
        let reply = try parseFields(isRequest: false)
        try expect(.rparen, "')' or ',' after a reply field")
        try Names.checkCParameters(request: request, reply: reply)
        var idempotent = false
        if case .identifier("idempotent") = current.kind {
            idempotent = true
            advance()
        } else if case .identifier(let word) = current.kind {
            throw IDLError(location: current.location, message: "expected 'idempotent' or end of line, found '\(word)'")
        }
        return OperationDecl(id: id.value, name: name, request: request, reply: reply, idempotent: idempotent, location: start)
    }

    private mutating func parseFields(isRequest: Bool) throws(IDLError) -> [FieldDecl] {
        var fields: [FieldDecl] = []
        if current.kind == .rparen { return fields }
        while true {
            let (name, loc) = try expectIdentifier("a field name")
            try Names.checkFieldName(name, isRequest: isRequest, at: loc)
            if let other = fields.first(where: { $0.name == name || Names.lowerCamel($0.name) == Names.lowerCamel(name) }) {
                throw IDLError(
                    location: loc, message: "field '\(name)' clashes with field '\(other.name)' at column \(other.location.column)")
            }
            try expect(.colon, "':' after field name '\(name)'")
            let type = try parseType()
            fields.append(FieldDecl(name: name, type: type, location: loc))
            guard current.kind == .comma else { return fields }
            advance()
        }
    }

    private mutating func parseType() throws(IDLError) -> IDLType {
        let typeList = "u8, u16, u32, u64, i32, i64, bool, bytes, string, shm, fd or [T]"
        if current.kind == .lbracket {
            advance()
            let loc = current.location
            guard case .identifier(let word) = current.kind, let element = IDLType.scalarNames[word] else {
                throw IDLError(
                    location: loc, message: "expected an array element type (u8, u16, u32, u64, i32 or i64), found \(current.display)")
            }
            guard element.fixedWidth != nil else {
                throw IDLError(
                    location: loc,
                    message: "arrays of '\(word)' are not supported: array elements are fixed-width integers (u8, u16, u32, u64, i32, i64)")
            }
            advance()
            try expect(.rbracket, "']' after the array element type")
            return .array(element)
        }
        guard case .identifier(let word) = current.kind else {
            throw IDLError(location: current.location, message: "expected a type (\(typeList)), found \(current.display)")
        }
        guard let type = IDLType.scalarNames[word] else {
            throw IDLError(location: current.location, message: "unknown type '\(word)': expected \(typeList)")
        }
        advance()
        return type
    }

    // MARK: - Tokens

    private var current: Token { tokens[index] }

    private mutating func advance() {
        if index < tokens.count - 1 { index += 1 }
    }

    private mutating func skipNewlines() {
        while current.kind == .newline { advance() }
    }

    private mutating func expect(_ kind: TokenKind, _ what: String) throws(IDLError) {
        guard current.kind == kind else {
            throw IDLError(location: current.location, message: "expected \(what), found \(current.display)")
        }
        advance()
    }

    private mutating func expectEndOfLine() throws(IDLError) {
        guard current.kind == .newline || current.kind == .eof else {
            throw IDLError(location: current.location, message: "expected end of line, found \(current.display)")
        }
        advance()
    }

    private mutating func expectKeyword(_ word: String) throws(IDLError) {
        guard case .identifier(word) = current.kind else {
            throw IDLError(location: current.location, message: "expected '\(word)', found \(current.display)")
        }
        advance()
    }

    private mutating func expectIdentifier(_ what: String) throws(IDLError) -> (String, SourceLocation) {
        guard case .identifier(let s) = current.kind else {
            throw IDLError(location: current.location, message: "expected \(what), found \(current.display)")
        }
        let loc = current.location
        advance()
        return (s, loc)
    }

    private mutating func expectUInt32(_ what: String) throws(IDLError) -> (value: UInt32, location: SourceLocation) {
        guard case .integer(let n) = current.kind else {
            throw IDLError(location: current.location, message: "expected \(what) (an integer), found \(current.display)")
        }
        guard let v = UInt32(exactly: n) else {
            throw IDLError(location: current.location, message: "expected \(what) below 2^32, found \(n)")
        }
        let loc = current.location
        advance()
        return (v, loc)
    }
}

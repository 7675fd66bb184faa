/// Identifier rules and the mapping of IDL names to Swift and C names.
enum Names {
    /// `uptime_ns` -> `uptimeNs`.
    static func lowerCamel(_ s: String) -> String {
        let parts = s.split(separator: "_", omittingEmptySubsequences: true)
        guard let first = parts.first else { return s }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// `echo` -> `Echo`, `block_device` -> `BlockDevice`.
    static func upperCamel(_ s: String) -> String {
        s.split(separator: "_", omittingEmptySubsequences: true).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// A Swift identifier, in backticks where it is a keyword.
    static func swiftIdentifier(_ s: String) -> String {
        swiftKeywords.contains(s) ? "`\(s)`" : s
    }

    static let cKeywords: Set<String> = [
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
        "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
        "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
        "volatile", "while", "bool", "true", "false", "alignas", "alignof", "static_assert", "thread_local",
        "nullptr", "typeof", "constexpr"
    ]

    static let swiftKeywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
        "inout", "internal", "let", "operator", "private", "precedencegroup", "protocol", "public",
        "rethrows", "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue",
        "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return",
        "throw", "switch", "where", "while", "Any", "as", "await", "false", "is", "nil", "self", "Self",
        "super", "throws", "true", "try", "async", "some", "any"
    ]

    /// Names the generated code itself uses where fields and operations live.
    static let reservedFieldNames: Set<String> = ["conn", "rpc", "descriptors", "encode", "decode", "call", "self", "init", "type"]
    static let reservedOperationNames: Set<String> = ["caller", "rpc", "init", "self", "type"]
    /// Swift names an interface's enum must not shadow.
    static let reservedTypeNames: Set<String> = [
        "Swift", "RPCWire", "RPCInterfaces", "String", "Int", "UInt", "Bool", "Array", "Error", "Result",
        "Optional", "Never", "Void", "Character", "Double", "Float", "Set", "Dictionary", "UInt8", "UInt16",
        "UInt32", "UInt64", "Int32", "Int64", "Int8", "Int16", "PayloadReader", "PayloadWriter",
        "RPCError", "RPCStatus", "RPCCall", "RPCCaller", "RPCResponse", "RPCReplyBody", "RPCInterfaceHandler",
        "SharedMemoryRef", "RPCGenSupport"
    ]

    private static func checkBasic(_ name: String, _ what: String, at loc: SourceLocation) throws(IDLError) {
        let lowerSnake = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        if !lowerSnake || name.first?.isLetter != true {
            throw IDLError(location: loc, message: "\(what) '\(name)' must be lower_snake_case: a-z, 0-9 and '_', starting with a letter")
        }
        if name.hasSuffix("_") || name.contains("__") {
            throw IDLError(location: loc, message: "\(what) '\(name)' must not end with '_' or contain '__'")
        }
        if name.hasPrefix("husk_") || name.hasPrefix("rpc_") {
            throw IDLError(location: loc, message: "\(what) '\(name)' must not start with 'husk_' or 'rpc_' (reserved for generated code)")
        }
        if cKeywords.contains(name) || swiftKeywords.contains(name) {
            throw IDLError(location: loc, message: "\(what) '\(name)' is a reserved word in C or Swift")
        }
    }

    static func checkInterfaceName(_ name: String, at loc: SourceLocation) throws(IDLError) {
        try checkBasic(name, "interface name", at: loc)
        if reservedTypeNames.contains(upperCamel(name)) {
            throw IDLError(location: loc, message: "interface name '\(name)' would shadow the Swift type '\(upperCamel(name))'")
        }
    }

    static func checkOperationName(_ name: String, at loc: SourceLocation) throws(IDLError) {
        try checkBasic(name, "operation name", at: loc)
        if reservedOperationNames.contains(name) {
            throw IDLError(location: loc, message: "operation name '\(name)' is used by the generated code")
        }
    }

    static func checkFieldName(_ name: String, isRequest: Bool, at loc: SourceLocation) throws(IDLError) {
        try checkBasic(name, "field name", at: loc)
        if reservedFieldNames.contains(name) {
            throw IDLError(location: loc, message: "field name '\(name)' is used by the generated code")
        }
        if isRequest && name.hasPrefix("out_") {
            throw IDLError(
                location: loc, message: "request field '\(name)' must not start with 'out_' (the C stubs prefix reply fields with it)")
        }
    }
}

extension Names {
    /// The C parameters a field becomes in a client function (docs/idl.md).
    static func cParameters(_ f: FieldDecl, isRequest: Bool) -> [String] {
        let base = isRequest ? f.name : "out_" + f.name
        switch f.type {
        case .bytes: return isRequest ? [base, base + "_len"] : [base, base + "_cap", base + "_len"]
        case .string: return isRequest ? [base] : [base, base + "_cap"]
        case .array: return isRequest ? [base, base + "_count"] : [base, base + "_cap", base + "_count"]
        default: return [base]
        }
    }

    /// Two fields of one operation whose C parameters would collide.
    static func checkCParameters(request: [FieldDecl], reply: [FieldDecl]) throws(IDLError) {
        var seen: [String: FieldDecl] = ["conn": FieldDecl(name: "conn", type: .u8, location: SourceLocation(file: "", line: 0, column: 0))]
        for (fields, isRequest) in [(request, true), (reply, false)] {
            for f in fields {
                for p in cParameters(f, isRequest: isRequest) {
                    if let other = seen[p] {
                        throw IDLError(
                            location: f.location,
                            message: "field '\(f.name)' clashes with field '\(other.name)': both need the C parameter '\(p)'")
                    }
                    seen[p] = f
                }
            }
        }
    }
}

/// Where something is in an IDL file: 1-based line and column.
struct SourceLocation: Equatable, Sendable, CustomStringConvertible {
    var file: String
    var line: Int
    var column: Int
    var description: String { "\(file):\(line):\(column)" }
}

/// An error in an IDL file, printed the way compilers do:
/// `echo.idl:5:14: error: expected a type ..., found 'u128'`.
struct IDLError: Error, Equatable, Sendable, CustomStringConvertible {
    var location: SourceLocation
    var message: String
    var description: String { "\(location): error: \(message)" }
}

/// A failure of the generator itself (files, arguments), not of an IDL file.
struct GeneratorError: Error, Sendable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

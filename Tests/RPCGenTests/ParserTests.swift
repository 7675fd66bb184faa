import HuskTestSupport
import XCTest

@testable import RPCGen

/// The IDL parser on good input and on every error it reports.
final class ParserTests: XCTestCase {
    private func parse(_ text: String) throws -> [InterfaceDecl] {
        try Parser.parse(source: text, file: "t.idl")
    }

    /// The error for `text`, as printed (file:line:column: error: message).
    private func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try parse(text)
            XCTFail("no error for:\n\(text)", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testEchoIDLParses() throws {
        let text = try String(contentsOf: Husk.packageRoot.appendingPathComponent("Interfaces/echo.idl"), encoding: .utf8)
        let decls = try parse(text)
        XCTAssertEqual(decls.count, 1)
        let echo = try XCTUnwrap(decls.first)
        XCTAssertEqual(echo.name, "echo")
        XCTAssertEqual(echo.id, 1)
        XCTAssertEqual(echo.version, 1)
        XCTAssertEqual(echo.operations.map(\.name), ["ping", "echo", "stat", "sleep", "checksum", "raise", "whoami", "open", "notify"])
        XCTAssertEqual(echo.operations.map(\.id), [1, 2, 3, 4, 5, 6, 7, 8, 9])
        XCTAssertEqual(echo.operations.map(\.idempotent), [true, true, true, false, true, false, true, false, false])
        let whoami = echo.operations[6]
        XCTAssertEqual(whoami.reply.map(\.type), [.u32, .u32, .array(.u32)])
        XCTAssertEqual(echo.operations[4].request.first?.type, .shm)
        XCTAssertEqual(echo.operations[7].reply.first?.type, .fd)
        XCTAssertEqual(echo.operations[7].reply.first?.location, SourceLocation(file: "t.idl", line: 12, column: 31))
    }

    func testEveryTypeCommentsBlankLinesHexAndSeveralInterfaces() throws {
        let text = """
            # leading comment

            interface all_types id 0x10 version 3   # trailing comment
              op 1 scalars(a: u8, b: u16, c: u32, d: u64, e: i32, f: i64, g: bool) -> ()
              op 2 blobs(a: bytes, b: string, c: shm, d: fd) -> (e: fd, f: fd)

              op 0xff arrays(a: [u8], b: [u16], c: [u32], d: [u64], e: [i32], f: [i64]) -> (g: [i64]) idempotent
            end
            interface second id 17 version 1\r
              op 1 x() -> ()\r
            end
            """
        let decls = try parse(text)
        XCTAssertEqual(decls.map(\.name), ["all_types", "second"])
        XCTAssertEqual(decls[0].id, 16)
        XCTAssertEqual(decls[0].version, 3)
        XCTAssertEqual(decls[0].operations[0].request.map(\.type), [.u8, .u16, .u32, .u64, .i32, .i64, .bool])
        XCTAssertEqual(decls[0].operations[1].request.map(\.type), [.bytes, .string, .shm, .fd])
        XCTAssertEqual(decls[0].operations[2].id, 255)
        XCTAssertEqual(
            decls[0].operations[2].request.map(\.type), [.array(.u8), .array(.u16), .array(.u32), .array(.u64), .array(.i32), .array(.i64)])
        XCTAssertTrue(decls[0].operations[2].idempotent)
        XCTAssertFalse(decls[0].operations[0].idempotent)
        XCTAssertEqual(decls[1].operations[0].location.line, 10)
    }

    func testErrorMessages() {
        let cases: [(String, String)] = [
            ("", "t.idl:1:1: error: expected 'interface', found end of file"),
            ("# only a comment\n", "t.idl:2:1: error: expected 'interface', found end of file"),
            ("interfac echo id 1 version 1\nend\n", "t.idl:1:1: error: expected 'interface', found 'interfac'"),
            ("interface 5 id 1 version 1\n", "t.idl:1:11: error: expected an interface name, found '5'"),
            ("interface echo ID 1 version 1\n", "t.idl:1:16: error: expected 'id', found 'ID'"),
            ("interface echo id x version 1\n", "t.idl:1:19: error: expected an interface id (an integer), found 'x'"),
            ("interface echo id 0 version 1\n", "t.idl:1:19: error: interface id 0 is reserved for the control interface"),
            ("interface echo id 4294967296 version 1\n", "t.idl:1:19: error: expected an interface id below 2^32, found 4294967296"),
            ("interface echo id 12ab version 1\n", "t.idl:1:19: error: invalid integer '12ab'"),
            ("interface echo id 1 version 0\n", "t.idl:1:29: error: interface version must be at least 1"),
            ("interface echo id 1 version 1 extra\n", "t.idl:1:31: error: expected end of line, found 'extra'"),
            (
                "interface echo id 1 version 1\n  op 1 a() -> ()\n",
                "t.idl:3:1: error: expected 'op' or 'end', found end of file (interface 'echo' started at line 1)"
            ),
            ("interface echo id 1 version 1\n  opp 1 a() -> ()\nend\n", "t.idl:2:3: error: expected 'op' or 'end', found 'opp'"),
            ("interface echo id 1 version 1\nend\n", "t.idl:1:1: error: interface 'echo' declares no operations"),
            ("interface echo id 1 version 1\n  op 1 a() -> ()\nend end\n", "t.idl:3:5: error: expected end of line, found 'end'"),
            ("interface echo id 1 version 1\n  op a() -> ()\nend\n", "t.idl:2:6: error: expected an operation id (an integer), found 'a'"),
            ("interface echo id 1 version 1\n  op 0 a() -> ()\nend\n", "t.idl:2:6: error: operation id must be at least 1"),
            ("interface echo id 1 version 1\n  op 1 () -> ()\nend\n", "t.idl:2:8: error: expected an operation name, found '('"),
            (
                "interface echo id 1 version 1\n  op 1 a -> ()\nend\n",
                "t.idl:2:10: error: expected '(' after the operation name, found '->'"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(x: u8 -> ()\nend\n",
                "t.idl:2:16: error: expected ')' or ',' after a request field, found '->'"
            ),
            ("interface echo id 1 version 1\n  op 1 a() ()\nend\n", "t.idl:2:12: error: expected '->' after the request fields, found '('"),
            ("interface echo id 1 version 1\n  op 1 a() - ()\nend\n", "t.idl:2:12: error: expected '->' after '-'"),
            ("interface echo id 1 version 1\n  op 1 a() -> x\nend\n", "t.idl:2:15: error: expected '(' before the reply fields, found 'x'"),
            (
                "interface echo id 1 version 1\n  op 1 a() -> (x: u8\nend\n",
                "t.idl:2:21: error: expected ')' or ',' after a reply field, found end of line"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a() -> () idempotnet\nend\n",
                "t.idl:2:18: error: expected 'idempotent' or end of line, found 'idempotnet'"
            ),
            ("interface echo id 1 version 1\n  op 1 a() -> () idempotent (\nend\n", "t.idl:2:29: error: expected end of line, found '('"),
            (
                "interface echo id 1 version 1\n  op 1 a(x u8) -> ()\nend\n",
                "t.idl:2:12: error: expected ':' after field name 'x', found 'u8'"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(x: u128) -> ()\nend\n",
                "t.idl:2:13: error: unknown type 'u128': expected u8, u16, u32, u64, i32, i64, bool, bytes, string, shm, fd or [T]"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(x: ) -> ()\nend\n",
                "t.idl:2:13: error: expected a type (u8, u16, u32, u64, i32, i64, bool, bytes, string, shm, fd or [T]), found ')'"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(x: [string]) -> ()\nend\n",
                "t.idl:2:14: error: arrays of 'string' are not supported: array elements are fixed-width integers (u8, u16, u32, u64, i32, i64)"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(x: [[u8]]) -> ()\nend\n",
                "t.idl:2:14: error: expected an array element type (u8, u16, u32, u64, i32 or i64), found '['"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(x: [u8) -> ()\nend\n",
                "t.idl:2:16: error: expected ']' after the array element type, found ')'"
            ),
            ("interface echo id 1 version 1\n  op 1 a(x: u8,) -> ()\nend\n", "t.idl:2:16: error: expected a field name, found ')'"),
            (
                "interface echo id 1 version 1\n  op 1 a(x: u8, x: u16) -> ()\nend\n",
                "t.idl:2:17: error: field 'x' clashes with field 'x' at column 10"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(data: bytes, data_len: u32) -> ()\nend\n",
                "t.idl:2:23: error: field 'data_len' clashes with field 'data': both need the C parameter 'data_len'"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(out_x: u8) -> ()\nend\n",
                "t.idl:2:10: error: request field 'out_x' must not start with 'out_' (the C stubs prefix reply fields with it)"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(int: u8) -> ()\nend\n",
                "t.idl:2:10: error: field name 'int' is a reserved word in C or Swift"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(conn: u8) -> ()\nend\n",
                "t.idl:2:10: error: field name 'conn' is used by the generated code"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(rpc_x: u8) -> ()\nend\n",
                "t.idl:2:10: error: field name 'rpc_x' must not start with 'husk_' or 'rpc_' (reserved for generated code)"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(Data: u8) -> ()\nend\n",
                "t.idl:2:10: error: field name 'Data' must be lower_snake_case: a-z, 0-9 and '_', starting with a letter"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a(a__b: u8) -> ()\nend\n",
                "t.idl:2:10: error: field name 'a__b' must not end with '_' or contain '__'"
            ),
            (
                "interface echo id 1 version 1\n  op 1 caller() -> ()\nend\n",
                "t.idl:2:8: error: operation name 'caller' is used by the generated code"
            ),
            (
                "interface echo id 1 version 1\n  op 1 switch() -> ()\nend\n",
                "t.idl:2:8: error: operation name 'switch' is a reserved word in C or Swift"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a() -> ()\n  op 1 b() -> ()\nend\n",
                "t.idl:3:3: error: operation id 1 is already used by 'a' at line 2"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a() -> ()\n  op 2 a() -> ()\nend\n",
                "t.idl:3:3: error: operation 'a' clashes with 'a' at line 2"
            ),
            (
                "interface string id 1 version 1\n  op 1 a() -> ()\nend\n",
                "t.idl:1:11: error: interface name 'string' would shadow the Swift type 'String'"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a() -> ()\nend\ninterface echo id 2 version 1\n  op 1 a() -> ()\nend\n",
                "t.idl:4:1: error: interface 'echo' is already declared at line 1"
            ),
            (
                "interface echo id 1 version 1\n  op 1 a() -> ()\nend\ninterface other id 1 version 1\n  op 1 a() -> ()\nend\n",
                "t.idl:4:1: error: interface id 1 is already used by 'echo' at line 1"
            ),
            ("interface echo id 1 version 1\n  op 1 a(x: u8) -> () $\nend\n", "t.idl:2:23: error: unexpected character '$'"),
            ("interface echo id 1 version 1\n  op 1 a(x: u8) -> () \u{7}\nend\n", "t.idl:2:23: error: unexpected character U+0007"),
            ("interface echo id 1 version 1\n  op 1 a(x: u8) -> () é\nend\n", "t.idl:2:23: error: unexpected character 'é'")
        ]
        for (text, expected) in cases {
            XCTAssertEqual(error(text), expected, "for:\n\(text)")
        }
    }

    func testDuplicatesAcrossFiles() {
        let a = (name: "a.idl", text: "interface one id 5 version 1\n  op 1 x() -> ()\nend\n")
        let b = (name: "b.idl", text: "interface two id 5 version 1\n  op 1 x() -> ()\nend\n")
        let c = (name: "c.idl", text: "interface one id 6 version 1\n  op 1 x() -> ()\nend\n")
        XCTAssertThrowsError(try Generator.generate([a, b])) {
            XCTAssertEqual("\($0)", "b.idl:1:1: error: interface id 5 is already used by 'one' at a.idl:1:1")
        }
        XCTAssertThrowsError(try Generator.generate([a, c])) {
            XCTAssertEqual("\($0)", "c.idl:1:1: error: interface 'one' is already declared at a.idl:1:1")
        }
    }

    func testNames() {
        XCTAssertEqual(Names.lowerCamel("uptime_ns"), "uptimeNs")
        XCTAssertEqual(Names.upperCamel("block_device"), "BlockDevice")
        XCTAssertEqual(Names.lowerCamel("crc32c"), "crc32c")
    }
}

/// The package's root directory, from this file's path.

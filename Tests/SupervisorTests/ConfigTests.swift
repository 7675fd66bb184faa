import Supervisor
import XCTest

final class ConfigTests: XCTestCase {
    func testGoodConfig() throws {
        let text = """
            # a stack
            [stack]
            name = "demo"   # trailing comment
            state_dir = '/tmp/husk-x'
            stop_timeout = 3

            [server.a]
            kind = "echo"
            socket = "/tmp/a.sock"
            user = 65_534
            group = 100
            args = ["--workers", "8", 'x#y',]
            restart = "always"
            mode = "666"

            [server.b-2]
            kind = "echo"
            socket = "rel/b.sock"
            enabled = false
            args = []
            """
        let c = try StackConfig.parse(text, file: "s.toml", directory: "/etc/husk")
        XCTAssertEqual(c.name, "demo")
        XCTAssertEqual(c.stateDir, "/tmp/husk-x")
        XCTAssertEqual(c.resolvedStateDirectory, "/tmp/husk-x")
        XCTAssertEqual(c.stopTimeout, 3)
        XCTAssertEqual(c.servers.map(\.name), ["a", "b-2"])
        let a = c.servers[0]
        XCTAssertEqual(a.kind, "echo")
        XCTAssertEqual(a.socket, "/tmp/a.sock")
        XCTAssertEqual(a.user, 65534)
        XCTAssertEqual(a.group, 100)
        XCTAssertEqual(a.args, ["--workers", "8", "x#y"])
        XCTAssertEqual(a.restart, .always)
        XCTAssertEqual(a.mode, 0o666)
        XCTAssertTrue(a.enabled)
        let b = c.servers[1]
        XCTAssertEqual(b.socket, "/etc/husk/rel/b.sock")
        XCTAssertEqual(b.restart, .onFailure)
        XCTAssertFalse(b.enabled)
        XCTAssertNil(b.user)
        XCTAssertEqual(
            ServerKind.find("echo")!.arguments(a, 3),
            [
                "echo", "serve", "--socket", "/tmp/a.sock", "--listen-fd", "3", "--name", "a",
                "--user", "65534", "--group", "100", "--workers", "8", "x#y"
            ])
        XCTAssertEqual(
            ServerKind.find("echo")!.arguments(b, 3),
            ["echo", "serve", "--socket", "/etc/husk/rel/b.sock", "--listen-fd", "3", "--name", "b-2"])
    }

    func testDefaultStateDirectory() throws {
        let c = try StackConfig.parse("[stack]\nname = \"n\"\n[server.a]\nkind = \"echo\"\nsocket = \"/tmp/a\"\n", file: "f")
        XCTAssertNil(c.stateDir)
        XCTAssertTrue(["/run/husk/n", "/tmp/husk-n"].contains(c.resolvedStateDirectory))
        XCTAssertEqual(c.candidateStateDirectories, ["/run/husk/n", "/tmp/husk-n"])
    }

    /// Each bad file gives `FILE:LINE: message` with the right line.
    func testErrors() {
        let head = "[stack]\nname = \"s\"\n"  // lines 1-2
        let srv = "[server.a]\nkind = \"echo\"\nsocket = \"/tmp/a.sock\"\n"  // 3 lines
        let cases: [(String, Int, String)] = [
            ("name = \"x\"\n", 1, "outside any table"),
            (head + "[server.a\n", 3, "expected `]`"),
            (head + "[[server]]\n", 3, "arrays of tables"),
            (head + "[bogus]\n", 3, "unknown table [bogus]"),
            (head + "[server]\n", 3, "needs a name"),
            (head + "[server.a.b]\n", 3, "unknown table"),
            (head + srv + "[server.a]\n", 6, "already defined on line 3"),
            (head + "name = \"t\"\n", 3, "already set on line 2"),
            (head + "colour = 1\n", 3, "unknown key `colour` in [stack]"),
            (head + srv + "colour = 1\n", 6, "unknown key `colour` in [server.a]"),
            (head + srv + "restart = \"sometimes\"\n", 6, "`restart` must be"),
            (head + srv + "user = \"root\"\n", 6, "`user` must be an integer"),
            (head + srv + "user = -1\n", 6, "out of range"),
            (head + srv + "group = 4294967295\n", 6, "out of range"),
            (head + srv + "args = \"--x\"\n", 6, "`args` must be an array of strings"),
            (head + srv + "args = [1, 2]\n", 6, "arrays may only hold strings"),
            (head + srv + "args = [\"a\",\n", 6, "arrays must be on one line"),
            (head + srv + "args = [\"a\" \"b\"]\n", 6, "expected `,` or `]`"),
            (head + srv + "mode = \"999\"\n", 6, "octal"),
            (head + srv + "enabled = 1\n", 6, "`enabled` must be true or false"),
            (head + srv + "enabled = yes\n", 6, "invalid value `yes`"),
            (head + srv + "x = 1.5\n", 6, "invalid value `1.5`"),
            (head + srv + "x = 012\n", 6, "invalid value `012`"),
            (head + srv + "x = { a = 1 }\n", 6, "inline tables"),
            (head + srv + "a.b = 1\n", 6, "dotted keys"),
            (head + srv + "\"q\" = 1\n", 6, "quoted keys"),
            (head + srv + "x 1\n", 6, "expected `=`"),
            (head + srv + "x =\n", 6, "missing value"),
            (head + srv + "x = \"abc\n", 6, "unterminated string"),
            (head + srv + "x = \"a\\qb\"\n", 6, "unsupported escape"),
            (head + srv + "x = \"a\" junk\n", 6, "unexpected `junk`"),
            (head + "[server.a]\nsocket = \"/tmp/a\"\n", 3, "has no `kind`"),
            (head + "[server.a]\nkind = \"echo\"\n", 3, "has no `socket`"),
            (head + "[server.a]\nkind = \"disk\"\n", 4, "unknown server kind `disk`"),
            (head + srv + "[server.b]\nkind = \"echo\"\nsocket = \"/tmp/a.sock\"\n", 8, "already used by server `a`"),
            (head + "[server.a]\nkind = \"echo\"\nsocket = \"/tmp/" + String(repeating: "x", count: 120) + "\"\n", 5, "longer than 107"),
            (head + "stop_timeout = 0\n", 3, "out of range"),
            ("[stack]\nname = \"bad name\"\n", 2, "stack name"),
            ("[stack]\n" + srv, 1, "[stack] has no `name`"),
            (srv, 0, "missing [stack]"),
            (head, 0, "no [server.NAME] tables")
        ]
        for (text, line, fragment) in cases {
            do {
                _ = try StackConfig.parse(text, file: "bad.toml", directory: "/tmp")
                XCTFail("accepted: \(text)")
            } catch {
                XCTAssertEqual(error.file, "bad.toml")
                XCTAssertEqual(error.line, line, "\(error) for: \(text)")
                XCTAssertTrue(error.message.contains(fragment), "`\(error)` lacks `\(fragment)`")
                XCTAssertTrue(error.description.hasPrefix(line > 0 ? "bad.toml:\(line): " : "bad.toml: "), error.description)
            }
        }
    }

    func testUnreadableFile() {
        XCTAssertThrowsError(try StackConfig.load(path: "/nonexistent/stack.toml")) { e in
            XCTAssertTrue("\(e)".hasPrefix("/nonexistent/stack.toml: cannot read"), "\(e)")
        }
    }

    func testWaitStatusDescriptions() {
        XCTAssertEqual(describeWaitStatus(64 << 8), "exited with status 64")
        XCTAssertEqual(describeWaitStatus(9), "killed by signal 9 (SIGKILL)")
        XCTAssertEqual(describeWaitStatus(11 | 0x80), "killed by signal 11 (SIGSEGV), core dumped")
    }
}

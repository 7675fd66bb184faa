import Foundation
import Glibc
import GlueAPI
import HuskTestSupport
import Synchronization
import XCTest

/// The C subset (husk/glue/csubset.h) against the host's C library as the
/// oracle: for every input, the glue's function must give what glibc gives
/// (value, end of parsing, errno), except where the header states a
/// difference (comparisons return -1/0/1; atoi saturates and keeps errno).
final class CSubsetTests: XCTestCase {
    func testStringLengths() {
        for s in ["", "a", "hello world", String(repeating: "x", count: 1000), "caf\u{e9}"] {
            s.withCString { p in
                XCTAssertEqual(glue_strlen(p), strlen(p), s)
                for max in [0, 1, 3, 5, 2000] { XCTAssertEqual(glue_strnlen(p, max), strnlen(p, max), "\(s) \(max)") }
            }
        }
        // strnlen never reads past max: a buffer without a terminator.
        var bytes: [CChar] = [0x61, 0x62, 0x63]
        XCTAssertEqual(glue_strnlen(&bytes, 3), 3)
    }

    func testComparisonsAreUnsignedAndSigned() {
        let pairs: [([UInt8], [UInt8])] = [
            ([], []), ([0x61], []), ([], [0x61]), ([0x61, 0x62], [0x61, 0x63]), ([0x61, 0x63], [0x61, 0x62]),
            ([0x80], [0x7f]), ([0x7f], [0xff]), ([0x61, 0x62, 0x63], [0x61, 0x62, 0x63]), ([0x61], [0x61, 0x62])
        ]
        func sign(_ x: Int32) -> Int32 { x < 0 ? -1 : x > 0 ? 1 : 0 }
        for (a, b) in pairs {
            let ca = a.map { CChar(bitPattern: $0) } + [0], cb = b.map { CChar(bitPattern: $0) } + [0]
            XCTAssertEqual(glue_strcmp(ca, cb), sign(strcmp(ca, cb)), "\(a) \(b)")
            for n in 0...4 { XCTAssertEqual(glue_strncmp(ca, cb, n), sign(strncmp(ca, cb, n)), "\(a) \(b) n=\(n)") }
        }
    }

    func testStrchrFindsCharactersAndTheTerminator() {
        "a/b/c".withCString { p in
            for c in [0x2f, 0x63, 0x7a, 0, 0x12f] {  // '/', 'c', 'z', NUL, and an int that converts to '/'
                let mine = glue_strchr(p, Int32(c)).map { $0 - UnsafeMutablePointer(mutating: p) }
                let theirs = strchr(p, Int32(c)).map { $0 - UnsafeMutablePointer(mutating: p) }
                XCTAssertEqual(mine, theirs, "c=\(c)")
            }
        }
    }

    private static let numbers = [
        "0", "42", "-42", "+7", "   \t\n 12", "12abc", "abc", "", "-", "+", " ", "0x1f", "0X1F", "0x", "0xg", "017", "08",
        "-0x10", "zz", "ZZ", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "18446744073709551615", "18446744073709551616", "-1", "-18446744073709551615",
        "99999999999999999999999999", "1 2", "0b101", "  -0"
    ]

    func testStrtolAndStrtoulMatchTheHostLibrary() {
        for base: Int32 in [0, 2, 8, 10, 16, 36] {
            for s in Self.numbers {
                s.withCString { p in
                    var mineEnd: UnsafeMutablePointer<CChar>? = nil, theirEnd: UnsafeMutablePointer<CChar>? = nil
                    glue_errno().pointee = 0
                    errno = 0
                    let mine = glue_strtol(p, &mineEnd, base), theirs = strtol(p, &theirEnd, base)
                    XCTAssertEqual(mine, theirs, "strtol(\"\(s)\", \(base))")
                    XCTAssertEqual(mineEnd, theirEnd, "strtol(\"\(s)\", \(base)) end")
                    XCTAssertEqual(glue_errno().pointee, errno, "strtol(\"\(s)\", \(base)) errno")

                    glue_errno().pointee = 0
                    errno = 0
                    let umine = glue_strtoul(p, &mineEnd, base), utheirs = strtoul(p, &theirEnd, base)
                    XCTAssertEqual(umine, utheirs, "strtoul(\"\(s)\", \(base))")
                    XCTAssertEqual(mineEnd, theirEnd, "strtoul(\"\(s)\", \(base)) end")
                    XCTAssertEqual(glue_errno().pointee, errno, "strtoul(\"\(s)\", \(base)) errno")
                }
            }
        }
        // A NULL end pointer is allowed; an unsupported base is EINVAL.
        XCTAssertEqual(glue_strtol("123", nil, 10), 123)
        glue_errno().pointee = 0
        XCTAssertEqual(glue_strtoul("123", nil, 1), 0)
        XCTAssertEqual(glue_errno().pointee, EINVAL)
    }

    func testAtoiSaturatesAndLeavesErrnoAlone() {
        for s in ["0", "42", "-42", " 7x", "x", "2147483647", "-2147483648"] {
            XCTAssertEqual(glue_atoi(s), atoi(s), s)
        }
        glue_errno().pointee = 5
        XCTAssertEqual(glue_atoi("99999999999"), Int32.max)
        XCTAssertEqual(glue_atoi("-99999999999"), Int32.min)
        XCTAssertEqual(glue_errno().pointee, 5)
    }

    /// errno is per thread: a value set on one thread is not seen on another.
    func testErrnoIsPerThread() {
        glue_errno().pointee = 11
        let seen = Mutex<Int32>(-1)
        let t = Thread {
            seen.withLock { $0 = glue_errno().pointee }
            glue_errno().pointee = 99
        }
        t.start()
        XCTAssertTrue(waitUntil(5) { seen.withLock { $0 } != -1 })
        XCTAssertEqual(seen.withLock { $0 }, 0, "a new thread starts with errno 0")
        usleep(50_000)
        XCTAssertEqual(glue_errno().pointee, 11, "another thread's errno does not leak into this one")
    }

    /// The subset's errno.h has the host C library's values (Linux's), and
    /// every HUSK_E* code of hypercall.h equals the E* of the same name.
    func testErrnoHeaderMatchesTheHostAndTheABI() throws {
        let root = Husk.packageRoot
        let header = try String(
            contentsOf: root.appendingPathComponent("Sources/Glue/API/csubset/errno.h"), encoding: .utf8)
        let define = try NSRegularExpression(pattern: "^#define (E[A-Z0-9]+) ", options: [.anchorsMatchLines])
        let names = define.matches(in: header, range: NSRange(header.startIndex..., in: header)).map {
            String(header[Range($0.range(at: 1), in: header)!])
        }
        XCTAssertGreaterThan(names.count, 120)
        for required in ["EDOM", "ERANGE", "EILSEQ", "EWOULDBLOCK", "ECONNRESET", "EADDRINUSE", "ENOTSUP"] {
            XCTAssertTrue(names.contains(required), required)
        }
        // One program prints each name's value under the subset's header and under glibc's.
        let dir = try scratchURL(self)
        func program(_ include: String) -> String {
            "#include <stdio.h>\n#include \(include)\nint main(void) {\n"
                + names.map { "    printf(\"%s %d\\n\", \"\($0)\", \($0));\n" }.joined() + "    return 0;\n}\n"
        }
        func values(_ include: String, extra: [String]) throws -> [String: Int] {
            let c = dir.appendingPathComponent("errno\(extra.count).c"), exe = dir.appendingPathComponent("errno\(extra.count)")
            try program(include).write(to: c, atomically: true, encoding: .utf8)
            let cc = try runTool(cCompiler, extra + [c.path, "-o", exe.path])
            guard cc.status == 0 else { throw TestFailure("cc: \(cc.output)") }
            let run = try runTool(exe.path, [])
            var out: [String: Int] = [:]
            for line in run.stdout.split(separator: "\n") {
                let f = line.split(separator: " ")
                out[String(f[0])] = Int(f[1])
            }
            return out
        }
        // The subset's header includes husk/glue/csubset.h; -iquote keeps <stdio.h> the host's.
        let subset = try values(
            "\"\(root.path)/Sources/Glue/API/csubset/errno.h\"",
            extra: ["-I", root.path + "/Sources/Glue/API/include", "-I", root.path + "/Sources/Hypercalls/ABI/include"])
        let host = try values("<errno.h>", extra: [])
        XCTAssertEqual(subset.count, names.count)
        XCTAssertEqual(subset, host.filter { subset[$0.key] != nil })
        let abi = try String(
            contentsOf: root.appendingPathComponent("Sources/Hypercalls/ABI/include/husk/hypercall.h"), encoding: .utf8)
        let husk = try NSRegularExpression(pattern: "^#define HUSK_(E[A-Z0-9]+) +([0-9]+)", options: [.anchorsMatchLines])
        let codes = husk.matches(in: abi, range: NSRange(abi.startIndex..., in: abi))
        XCTAssertGreaterThan(codes.count, 10)
        for m in codes {
            let name = String(abi[Range(m.range(at: 1), in: abi)!]), value = Int(abi[Range(m.range(at: 2), in: abi)!])
            XCTAssertEqual(subset[name], value, "HUSK_\(name)")
        }
    }
}

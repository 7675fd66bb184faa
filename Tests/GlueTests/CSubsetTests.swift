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

    func testCopiesAndConcatenationMatchTheHostLibrary() {
        for src in ["", "a", "hello", String(repeating: "z", count: 100)] {
            for n in [0, 1, 3, 5, 120] {
                var mine = [CChar](repeating: 0x55, count: 130), theirs = mine
                _ = glue_strncpy(&mine, src, n)
                _ = strncpy(&theirs, src, n)
                XCTAssertEqual(mine, theirs, "strncpy(\"\(src)\", \(n)) pads with NULs and never writes past n")
            }
            var mine = [CChar](repeating: 0x55, count: 250), theirs = mine
            XCTAssertEqual(glue_strcpy(&mine, src).map { String(cString: $0) }, src)
            _ = strcpy(&theirs, src)
            XCTAssertEqual(mine, theirs, "strcpy")
            _ = glue_strcat(&mine, "-tail")
            _ = strcat(&theirs, "-tail")
            XCTAssertEqual(mine, theirs, "strcat")
        }
    }

    /// qsort sorts like glibc's for every element size the heapsort swaps
    /// byte by byte, with duplicates, sorted and reversed inputs.
    func testQsortSortsLikeTheHostLibrary() {
        var rng = SystemRandomNumberGenerator()
        let compareInts: @convention(c) (UnsafeRawPointer?, UnsafeRawPointer?) -> Int32 = { a, b in
            let x = a!.loadUnaligned(as: Int32.self), y = b!.loadUnaligned(as: Int32.self)
            return x < y ? -1 : x > y ? 1 : 0
        }
        for count in [0, 1, 2, 3, 10, 1000] {
            for shape in 0..<4 {
                var values: [Int32] = (0..<count).map { _ in Int32.random(in: -50...50, using: &rng) }
                if shape == 1 { values.sort() }
                if shape == 2 { values.sort(by: >) }
                if shape == 3 { values = values.map { _ in 7 } }
                var mine = values, theirs = values
                mine.withUnsafeMutableBytes { glue_qsort($0.baseAddress, count, 4, compareInts) }
                theirs.withUnsafeMutableBytes { if let base = $0.baseAddress { qsort(base, count, 4, compareInts) } }
                XCTAssertEqual(mine, theirs, "count \(count) shape \(shape)")
            }
        }
        // A 12-byte element whose key is its first Int32: the other bytes travel with it.
        struct Rec: Equatable { var key: Int32, a: Int32, b: Int32 }
        var recs = (0..<200).map { i in Rec(key: Int32((i * 7919) % 211), a: Int32(i), b: -Int32(i)) }
        recs.withUnsafeMutableBytes { glue_qsort($0.baseAddress, 200, MemoryLayout<Rec>.stride, compareInts) }
        XCTAssertEqual(recs.map(\.key), recs.map(\.key).sorted())
        for r in recs { XCTAssertEqual(r.a, -r.b, "each element moved whole") }
    }

    /// The malloc family over kmem, inside a component (kmem accounts to the
    /// caller): sizes, zeroing, growth keeping the contents, shrinking,
    /// realloc's edge cases, calloc's overflow check; the host finds nothing
    /// leaked when the component ends.
    func testMallocFamilyOverKmem() throws {
        try GlueHarness.run {
            var blocks: [UnsafeMutableRawPointer] = []
            for size in [0, 1, 15, 16, 17, 4096, 1 << 20] {
                guard let p = glue_malloc(size) else { return XCTFail("malloc(\(size))") }
                XCTAssertEqual(Int(bitPattern: p) % 16, 0, "aligned to 16")
                if size > 0 { p.storeBytes(of: 0xAB, toByteOffset: size - 1, as: UInt8.self) }
                blocks.append(p)
            }
            XCTAssertEqual(Set(blocks).count, blocks.count, "malloc(0) is a unique pointer too")
            for p in blocks { glue_free(p) }
            glue_free(nil)

            let z = glue_calloc(100, 8)!.assumingMemoryBound(to: UInt8.self)
            XCTAssertTrue((0..<800).allSatisfy { z[$0] == 0 }, "calloc zero-fills")
            glue_free(z)
            XCTAssertNil(glue_calloc(Int.max / 2, 4), "calloc's multiplication overflows: NULL")

            var p = glue_realloc(nil, 10)!  // realloc(NULL, n) is malloc
            for i in 0..<10 { p.storeBytes(of: UInt8(i), toByteOffset: i, as: UInt8.self) }
            p = glue_realloc(p, 100_000)!
            XCTAssertEqual((0..<10).map { p.load(fromByteOffset: $0, as: UInt8.self) }, (0..<10).map(UInt8.init))
            p = glue_realloc(p, 5)!
            XCTAssertEqual((0..<5).map { p.load(fromByteOffset: $0, as: UInt8.self) }, (0..<5).map(UInt8.init))
            XCTAssertNil(glue_realloc(p, 0), "realloc(p, 0) frees p")
        }
    }

    func testTimeAndGetenv() throws {
        try GlueHarness.run {
            var stored = 0
            let now = glue_time(&stored)
            XCTAssertEqual(now, stored)
            XCTAssertLessThanOrEqual(abs(now - Int(Glibc.time(nil))), 2, "the wall clock in seconds")
            XCTAssertNil(glue_getenv("PATH"), "a component has no environment")
        }
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

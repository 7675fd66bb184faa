import GlueAPI
import HypercallABI
import Hypercalls
import Synchronization
import XCTest

/// glue_param_string / _bool / _u64 (husk/glue/param.h) through the real
/// host: the parameters are the test component's module parameters, read
/// by the host's config_get, and the log lines are the host's.
final class ParamTests: XCTestCase {
    /// The host's log lines while `body` runs (HostLog's test sink).
    final class LogCapture: @unchecked Sendable {
        // @unchecked: lines behind the Mutex.
        let lines = Mutex<[String]>([])
        func take() -> [String] {
            lines.withLock { l in
                defer { l = [] }
                return l
            }
        }
    }

    private func run(_ parameters: [String: String], _ body: @escaping (LogCapture) -> Void) throws {
        let capture = LogCapture()
        HostLog.sink = { line in capture.lines.withLock { $0.append(line) } }
        defer { HostLog.sink = nil }
        try GlueHarness.run(parameters: parameters) { body(capture) }
    }

    /// The component's error lines (what the glue logged), without the prefix.
    private func errors(_ c: LogCapture) -> [String] {
        c.take().compactMap { line in
            let prefix = "[error] gluetest: "
            guard line.hasPrefix(prefix) else { return nil }
            return String(line.dropFirst(prefix.count).dropLast())  // the newline
        }
    }

    private func string(_ key: String, cap: Int, fill: CChar = 0x58) -> (Int32, Bool, String) {
        var buf = [CChar](repeating: fill, count: cap + 1)
        buf[cap] = 0
        var present = true
        let r = glue_param_string(key, &buf, cap, &present)
        return (r, present, String(cString: buf))
    }

    func testUnsetKeysKeepTheDefaultsAndLogNothing() throws {
        try run(["other": "1"]) { log in
            let (r, present, buf) = self.string("missing", cap: 8)
            XCTAssertEqual(r, HUSK_OK)
            XCTAssertFalse(present)
            XCTAssertEqual(buf, "XXXXXXXX", "buf untouched")
            var b = true
            XCTAssertEqual(glue_param_bool("missing", &b), HUSK_OK)
            XCTAssertTrue(b)
            b = false
            XCTAssertEqual(glue_param_bool("missing", &b), HUSK_OK)
            XCTAssertFalse(b)
            var n: UInt64 = 77
            XCTAssertEqual(glue_param_u64("missing", &n, 1, 10), HUSK_OK, "the default need not be in range")
            XCTAssertEqual(n, 77)
            XCTAssertEqual(log.take(), [])
        }
    }

    func testStringValuesAndTooLong() throws {
        try run(["s": "hello", "empty": "", "path": "/a b/ü"]) { log in
            var (r, present, buf) = self.string("s", cap: 16)
            XCTAssertEqual(r, HUSK_OK)
            XCTAssertTrue(present)
            XCTAssertEqual(buf, "hello")
            (r, present, buf) = self.string("s", cap: 6)
            XCTAssertEqual(r, HUSK_OK, "exactly fits with the NUL")
            XCTAssertEqual(buf, "hello")
            (r, present, buf) = self.string("empty", cap: 4)
            XCTAssertEqual(r, HUSK_OK)
            XCTAssertTrue(present, "set to the empty string is present")
            XCTAssertEqual(buf, "")
            (r, present, buf) = self.string("path", cap: 32)
            XCTAssertEqual(buf, "/a b/ü")
            XCTAssertEqual(self.errors(log), [])

            (r, present, buf) = self.string("s", cap: 5)
            XCTAssertEqual(r, HUSK_EINVAL)
            XCTAssertFalse(present)
            XCTAssertEqual(buf, "XXXXX", "buf untouched")
            XCTAssertEqual(self.errors(log), ["parameter s is too long (5 bytes, at most 4)"])
            (r, present, _) = self.string("s", cap: 1)
            XCTAssertEqual(r, HUSK_EINVAL)
            XCTAssertEqual(self.errors(log), ["parameter s is too long (5 bytes, at most 0)"])
        }
    }

    func testBool() throws {
        let long = String(repeating: "y", count: 200)
        try run(["on": "1", "off": "0", "yes": "yes", "empty": "", "two": "11", "long": long, "nl": "1\n"]) { log in
            var b = false
            XCTAssertEqual(glue_param_bool("on", &b), HUSK_OK)
            XCTAssertTrue(b)
            XCTAssertEqual(glue_param_bool("off", &b), HUSK_OK)
            XCTAssertFalse(b)
            XCTAssertEqual(self.errors(log), [])

            for (key, shown) in [("yes", "yes"), ("empty", ""), ("two", "11"), ("nl", "1?")] {
                b = true
                XCTAssertEqual(glue_param_bool(key, &b), HUSK_EINVAL, key)
                XCTAssertTrue(b, "\(key): unchanged on error")
                XCTAssertEqual(self.errors(log), ["parameter \(key) must be 0 or 1, not '\(shown)'"])
            }
            // A long wrong value is read whole and shown cut, not "too long".
            XCTAssertEqual(glue_param_bool("long", &b), HUSK_EINVAL)
            XCTAssertEqual(
                self.errors(log),
                ["parameter long must be 0 or 1, not '\(String(repeating: "y", count: 64))... (200 bytes)'"])
        }
    }

    func testU64DecimalAndSuffixes() throws {
        let cases: [(String, UInt64)] = [
            ("0", 0), ("42", 42), ("007", 7), ("4k", 4096), ("4K", 4096), ("3m", 3 << 20), ("3M", 3 << 20),
            ("2g", 2 << 30), ("2G", 2 << 30), ("0K", 0),
            ("18446744073709551615", .max), ("17179869183G", .max - (1 << 30) + 1),
            ("17592186044415M", .max - (1 << 20) + 1), ("18014398509481983K", .max - 1023)
        ]
        var params: [String: String] = [:]
        for (i, c) in cases.enumerated() { params["k\(i)"] = c.0 }
        try run(params) { log in
            for (i, c) in cases.enumerated() {
                var n: UInt64 = 12345
                XCTAssertEqual(glue_param_u64("k\(i)", &n, 0, .max), HUSK_OK, c.0)
                XCTAssertEqual(n, c.1, c.0)
            }
            XCTAssertEqual(self.errors(log), [])
        }
    }

    func testU64OverflowAndGarbage() throws {
        let overflow = [
            "18446744073709551616", "99999999999999999999999", "17179869184G", "17592186044416M",
            "18014398509481984K"
        ]
        let garbage = ["", "-1", "+1", " 1", "1 ", "0x10", "1KB", "K", "1.5K", "1T", "1e3", "k1"]
        var params: [String: String] = [:]
        for (i, v) in overflow.enumerated() { params["o\(i)"] = v }
        for (i, v) in garbage.enumerated() { params["g\(i)"] = v }
        try run(params) { log in
            for (i, v) in overflow.enumerated() {
                var n: UInt64 = 5
                XCTAssertEqual(glue_param_u64("o\(i)", &n, 0, .max), HUSK_EINVAL, v)
                XCTAssertEqual(n, 5, "\(v): unchanged on error")
                XCTAssertEqual(
                    self.errors(log),
                    [
                        "parameter o\(i)='\(v)' is out of range (does not fit in 64 bits): "
                            + "must be from 0 to 18446744073709551615"
                    ])
            }
            for (i, v) in garbage.enumerated() {
                var n: UInt64 = 5
                XCTAssertEqual(glue_param_u64("g\(i)", &n, 1, 64), HUSK_EINVAL, "'\(v)'")
                XCTAssertEqual(n, 5, "'\(v)': unchanged on error")
                XCTAssertEqual(
                    self.errors(log),
                    [
                        "parameter g\(i)='\(v)' is not a number (decimal digits, optional "
                            + "suffix K, M or G = 2^10, 2^20, 2^30): must be from 1 to 64"
                    ])
            }
        }
    }

    func testU64Range() throws {
        try run(["lo": "9", "min": "10", "max": "100", "hi": "101", "kilo": "1K", "zero": "0", "long": String(repeating: "1", count: 300)])
        { log in
            var n: UInt64 = 50
            XCTAssertEqual(glue_param_u64("min", &n, 10, 100), HUSK_OK)
            XCTAssertEqual(n, 10)
            XCTAssertEqual(glue_param_u64("max", &n, 10, 100), HUSK_OK)
            XCTAssertEqual(n, 100)
            XCTAssertEqual(glue_param_u64("max", &n, 100, 100), HUSK_OK, "min == max")
            XCTAssertEqual(self.errors(log), [])

            n = 50
            XCTAssertEqual(glue_param_u64("lo", &n, 10, 100), HUSK_EINVAL)
            XCTAssertEqual(glue_param_u64("hi", &n, 10, 100), HUSK_EINVAL)
            XCTAssertEqual(glue_param_u64("kilo", &n, 10, 100), HUSK_EINVAL)
            XCTAssertEqual(glue_param_u64("zero", &n, 1, 64), HUSK_EINVAL)
            XCTAssertEqual(n, 50, "unchanged on error")
            XCTAssertEqual(
                self.errors(log),
                [
                    "parameter lo='9' is out of range: must be from 10 to 100",
                    "parameter hi='101' is out of range: must be from 10 to 100",
                    "parameter kilo='1K' (1024) is out of range: must be from 10 to 100",
                    "parameter zero='0' is out of range: must be from 1 to 64"
                ])
            // A 300-digit number: read whole, overflows, shown cut.
            XCTAssertEqual(glue_param_u64("long", &n, 0, 10), HUSK_EINVAL)
            XCTAssertEqual(
                self.errors(log),
                [
                    "parameter long='\(String(repeating: "1", count: 64))... (300 bytes)' is out "
                        + "of range (does not fit in 64 bits): must be from 0 to 10"
                ])
        }
    }

    /// Every call logs its own problem: a component that reads all its
    /// parameters reports all mistakes in one attempt.
    func testEveryProblemIsLogged() throws {
        try run(["a": "x", "b": "2", "c": "toolong"]) { log in
            var b = false, n: UInt64 = 0
            var buf = [CChar](repeating: 0, count: 4), present = false
            XCTAssertEqual(glue_param_u64("a", &n, 0, 10), HUSK_EINVAL)
            XCTAssertEqual(glue_param_bool("b", &b), HUSK_EINVAL)
            XCTAssertEqual(glue_param_string("c", &buf, buf.count, &present), HUSK_EINVAL)
            let e = self.errors(log)
            XCTAssertEqual(e.count, 3, "\(e)")
            XCTAssertTrue(e[0].hasPrefix("parameter a='x' is not a number"), e[0])
            XCTAssertEqual(e[1], "parameter b must be 0 or 1, not '2'")
            XCTAssertEqual(e[2], "parameter c is too long (7 bytes, at most 3)")
        }
    }
}

import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// `husk bench net --seconds 0.2` as a subprocess: every case prints its
/// BENCH lines for both paths and the ratio, every line is documented in
/// docs/BENCHMARKS.md, every figure is positive (data moved, round trips
/// and connections made on both paths), and nothing the bench made (TAP,
/// veth pair, processes) outlives it. Timing values are never compared.
final class BenchNetTests: XCTestCase {
    func testQuickRunPrintsEveryDocumentedLine() throws {
        guard getuid() == 0, access("/dev/net/tun", R_OK | W_OK) == 0 else {
            throw XCTSkip("needs root and /dev/net/tun (private network namespaces with a TAP and a veth pair)")
        }
        let doc = try String(contentsOf: Husk.packageRoot.appendingPathComponent("docs/BENCHMARKS.md"), encoding: .utf8)
        let r = try Husk.run(["bench", "net", "--seconds", "0.2"], timeout: 180)
        XCTAssertEqual(r.status, 0, r.output)
        var names: [String] = []
        let units = ["tcp_send": "MB/s", "tcp_recv": "MB/s", "rr1": "rt/s", "rr1_p50": "us", "connect": "conn/s"]
        for b in benchLines(in: r.stdout) {
            XCTAssertGreaterThan(b.value, 0, b.text)
            let parts = b.name.split(separator: ".")
            XCTAssertEqual(parts.count, 3, b.text)
            XCTAssertEqual(b.unit, parts.last == "vs_veth" ? "x" : units[String(parts[1])] ?? "?", b.text)
            names.append(b.name)
        }
        for c in units.keys {
            for path in ["veth", "husk", "vs_veth"] {
                XCTAssertTrue(names.contains("net.\(c).\(path)"), "net.\(c).\(path) missing: \(names)")
            }
        }
        XCTAssertEqual(names.count, 15, "\(names)")
        XCTAssertTrue(doc.contains("`net.CASE.PATH`"), "docs/BENCHMARKS.md documents the net lines")
        for leftover in ["hkb0", "hkv0"] {
            XCTAssertFalse(
                FileManager.default.fileExists(atPath: "/sys/class/net/\(leftover)"), "\(leftover) stayed in the bench's namespace")
        }
    }
}

import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// `husk bench nic --seconds 0.2` as a subprocess: every path and case
/// prints its BENCH line, every line is documented in docs/BENCHMARKS.md,
/// every rate is positive (frames moved through each path), and the bench
/// leaves no interface behind. Timing values are never compared.
final class BenchNICTests: XCTestCase {
    func testQuickRunPrintsEveryDocumentedLine() throws {
        guard getuid() == 0, access("/dev/net/tun", R_OK | W_OK) == 0 else {
            throw XCTSkip("needs root and /dev/net/tun (a private network namespace with a TAP)")
        }
        let doc = try String(contentsOf: Husk.packageRoot.appendingPathComponent("docs/BENCHMARKS.md"), encoding: .utf8)
        let r = try Husk.run(["bench", "nic", "--seconds", "0.2"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.output)
        var names: [String] = []
        for b in benchLines(in: r.stdout) {
            XCTAssertGreaterThan(b.value, 0, "\(b.text): no frame moved")
            XCTAssertEqual(b.unit, b.name.hasSuffix(".vs_raw") ? "x" : "frames/s", b.text)
            names.append(b.name)
        }
        for dir in ["tx", "rx"] {
            for size in [64, 1514] {
                for path in ["raw", "registry", "server", "sim"] {
                    XCTAssertTrue(names.contains("nic.\(dir)\(size).\(path)"), "nic.\(dir)\(size).\(path) missing: \(names)")
                }
            }
        }
        XCTAssertEqual(names.count, 28, "\(names)")  // 4 sizes x 4 paths, 4 x 3 ratios
        XCTAssertTrue(doc.contains("`nic.DIRSIZE.PATH`"), "docs/BENCHMARKS.md documents the nic lines")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/sys/class/net/hkb0"), "the bench's TAP stayed in its own namespace")
    }
}

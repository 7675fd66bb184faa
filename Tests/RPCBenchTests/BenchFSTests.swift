import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// `husk bench fs --quick` as a subprocess: every case prints its BENCH
/// line for every path that ran (rpc always; fuse, fuse2fs and kernel as
/// root with /dev/fuse, fuse2fs and loop devices), the ratios against
/// fuse2fs when it ran, every figure is positive, and the lines are
/// documented in docs/BENCHMARKS.md. Timing values are never compared.
final class BenchFSTests: XCTestCase {
    func testQuickRunPrintsEveryDocumentedLine() throws {
        let r = try Husk.run(["bench", "fs", "--quick"], timeout: 600)
        XCTAssertEqual(r.status, 0, r.output)
        var names: Set<String> = []
        for b in benchLines(in: r.stdout) {
            XCTAssertGreaterThan(b.value, 0, b.text)
            XCTAssertEqual(b.unit, b.name.hasSuffix(".vs_fuse2fs") ? "x" : b.name.contains(".seq_") ? "MB/s" : "us", b.text)
            names.insert(b.name)
        }
        let skipped = Set(
            r.stdout.split(separator: "\n").compactMap { l in
                l.hasSuffix("skipped") || l.contains(": skipped: ") ? l.split(separator: ":").first.map(String.init) : nil
            })
        let ran = ["rpc", "fuse", "fuse2fs", "kernel"].filter { !skipped.contains($0) }
        XCTAssertTrue(ran.contains("rpc"), r.output)
        for c in ["create", "stat", "unlink", "seq_write", "seq_read", "rand_read_4k"] {
            for p in ran {
                XCTAssertTrue(names.contains("fs.\(c).\(p)"), "fs.\(c).\(p) missing: \(names.sorted())")
                if ran.contains("fuse2fs") && p != "fuse2fs" {
                    XCTAssertTrue(names.contains("fs.\(c).\(p).vs_fuse2fs"), "fs.\(c).\(p).vs_fuse2fs missing")
                }
            }
        }
        let doc = try String(contentsOf: Husk.packageRoot.appendingPathComponent("docs/BENCHMARKS.md"), encoding: .utf8)
        XCTAssertTrue(doc.contains("`fs.CASE.PATH`"), "docs/BENCHMARKS.md documents the fs lines")
    }
}

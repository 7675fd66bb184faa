import Foundation
import HuskTestSupport
import XCTest

/// The C conformance suite (written against husk/hypercall.h only) run by the
/// real husk binary on each backend that needs no hardware.
final class ConformanceRunTests: XCTestCase {
    /// Run the suite: 0 failed, exactly `skipped` skipped and at least
    /// `passed` passed, so a check that silently turns into a SKIP (a
    /// feature bit lost, a device not found) fails here.
    func check(_ args: [String], passed: Int, skipped: Int) throws {
        let r = try Husk.run(["conformance"] + args, timeout: 300)
        let summary = r.stderr.split(separator: "\n").first { $0.contains(" passed, ") && $0.contains(" failed") }
        guard let summary else { return XCTFail("no summary line:\n\(r.stderr.suffix(3000))") }
        XCTAssertEqual(
            r.status, 0,
            "conformance failed on \(args):\n" + r.stderr.split(separator: "\n").filter { $0.contains("not ok") }.joined(separator: "\n"))
        XCTAssertFalse(
            r.stderr.contains("not ok"),
            "failing checks:\n" + r.stderr.split(separator: "\n").filter { $0.contains("not ok") }.joined(separator: "\n"))
        // "N passed, M failed, K skipped"
        let numbers = summary.split(separator: ":").last!.split(separator: ",").map { part -> (String, Int) in
            let w = part.split(separator: " ")
            return (String(w.last ?? ""), Int(w.first ?? "") ?? -1)
        }
        let counts = Dictionary(numbers, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(counts["failed"], 0, String(summary))
        XCTAssertEqual(
            counts["skipped"], skipped,
            "skipped checks on \(args): \(summary)\n"
                + r.stderr.split(separator: "\n").filter { $0.contains("# SKIP") }.joined(separator: "\n"))
        XCTAssertGreaterThanOrEqual(counts["passed"] ?? 0, passed, String(summary))
    }

    /// posix: no PCI (10 PCI/IRQ checks skip), DMA and block I/O present (their "without" checks skip).
    func testPosix() throws { try check([], passed: 84, skipped: 12) }
    /// sim without devices: the 3 "without FEATURE" checks and the 8 that need an edu device skip.
    func testSimWithoutDevices() throws { try check(["--backend", "sim"], passed: 85, skipped: 11) }
    /// sim with edu: only the "without FEATURE" checks and dev_on_release skip.
    func testSimWithEdu() throws { try check(["--backend", "sim", "--device", "edu"], passed: 92, skipped: 4) }

    /// Misuse that the ABI says panics ends the process with status 86 and a
    /// message naming the component.
    func testMisusePanicsNamingTheComponent() throws {
        for c in [
            "unlock_not_owned", "unlock_other_owner", "destroy_locked_mutex", "relock_self", "cv_wait_without_mutex",
            "rw_exit_not_held", "rw_reenter_writer", "destroy_held_rw", "thread_exit_host", "explicit_panic"
        ] {
            let r = try Husk.run(["conformance", "--panic-case", c], timeout: 60)
            XCTAssertEqual(r.status, 86, "\(c): expected the panic status 86\n\(r.stderr.suffix(1500))")
            XCTAssertTrue(r.stderr.contains("panic: conformance: "), "\(c): the panic must name the component\n\(r.stderr.suffix(1500))")
        }
        let unknown = try Husk.run(["conformance", "--panic-case", "nosuch"], timeout: 60)
        XCTAssertEqual(unknown.status, 1, "an unknown case is an error, not a pass")
    }
}

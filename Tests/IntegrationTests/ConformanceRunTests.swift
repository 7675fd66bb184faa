import Foundation
import HuskTestSupport
import XCTest

/// The C conformance suite (written against husk/hypercall.h only) run by the
/// real husk binary on each backend that needs no hardware.
final class ConformanceRunTests: XCTestCase {
    func check(_ args: [String]) throws {
        let r = try Husk.run(["conformance"] + args, timeout: 300)
        let summary = r.stderr.split(separator: "\n").first { $0.contains(" passed, ") && $0.contains(" failed") }
        XCTAssertNotNil(summary, "no summary line:\n\(r.stderr.suffix(3000))")
        XCTAssertEqual(r.status, 0, "conformance failed on \(args):\n" + r.stderr.split(separator: "\n").filter { $0.contains("not ok") }.joined(separator: "\n"))
        XCTAssertTrue(summary?.contains(" 0 failed") ?? false, String(summary ?? ""))
        XCTAssertFalse(r.stderr.contains("not ok"), "failing checks:\n" + r.stderr.split(separator: "\n").filter { $0.contains("not ok") }.joined(separator: "\n"))
    }

    func testPosix() throws { try check([]) }
    func testSimWithEdu() throws { try check(["--backend", "sim", "--device", "edu"]) }

    /// Misuse that the ABI says panics ends the process with status 86 and a
    /// message naming the component.
    func testMisusePanicsNamingTheComponent() throws {
        for c in ["unlock_not_owned", "unlock_other_owner", "destroy_locked_mutex", "relock_self", "cv_wait_without_mutex",
                  "rw_exit_not_held", "rw_reenter_writer", "destroy_held_rw", "thread_exit_host", "explicit_panic"] {
            let r = try Husk.run(["conformance", "--panic-case", c], timeout: 60)
            XCTAssertEqual(r.status, 86, "\(c): expected the panic status 86\n\(r.stderr.suffix(1500))")
            XCTAssertTrue(r.stderr.contains("panic: conformance: "), "\(c): the panic must name the component\n\(r.stderr.suffix(1500))")
        }
        let unknown = try Husk.run(["conformance", "--panic-case", "nosuch"], timeout: 60)
        XCTAssertEqual(unknown.status, 1, "an unknown case is an error, not a pass")
    }
}

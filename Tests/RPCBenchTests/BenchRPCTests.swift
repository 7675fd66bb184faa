import Foundation
import HuskTestSupport
import XCTest

/// `husk bench rpc --quick` as a subprocess: every BENCH line it prints is
/// documented in docs/BENCHMARKS.md with its unit, every documented line is
/// printed and well-formed, and the concurrency case has no errors. Timing
/// values are never asserted on.
final class BenchRPCTests: XCTestCase {
    /// A documented name: exact, or `prefix.*` for a family of lines.
    struct Documented {
        let name: String
        let units: Set<String>
        var isFamily: Bool { name.hasSuffix(".*") }
        func matches(_ line: String) -> Bool { isFamily ? line.hasPrefix(String(name.dropLast())) : line == name }
    }

    /// The rows of the table after "BENCH lines (" in docs/BENCHMARKS.md:
    /// `| `name`, `name` | unit[, unit] | what |`, with PLACE standing for
    /// samecore and crosscore.
    static func documented() throws -> [Documented] {
        let doc = try String(contentsOf: Husk.packageRoot.appendingPathComponent("docs/BENCHMARKS.md"), encoding: .utf8)
        let lines = doc.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let head = lines.firstIndex(where: { $0.hasPrefix("BENCH lines (`PLACE`") }) else { return [] }
        var out: [Documented] = []
        for row in lines[(head + 1)...].drop(while: { !$0.hasPrefix("|") }).prefix(while: { $0.hasPrefix("|") }) {
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, cells[1].hasPrefix("`") else { continue }
            let units = Set(cells[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            for name in cells[1].split(separator: "`").map(String.init) where name.hasPrefix("rpc.") {
                for place in name.contains("PLACE") ? ["samecore", "crosscore"] : [""] {
                    out.append(Documented(name: name.replacingOccurrences(of: "PLACE", with: place), units: units))
                }
            }
        }
        return out
    }

    func testTheDocumentedNamesAreRead() throws {
        let names = try Self.documented().map(\.name)
        XCTAssertTrue(names.contains("rpc.null.c.vs_raw.samecore"), "\(names)")
        XCTAssertTrue(names.contains("rpc.concurrent.errors"))
        XCTAssertGreaterThan(names.count, 30)
    }

    func testQuickRunPrintsEveryBenchLine() throws {
        let documented = try Self.documented()
        let r = try Husk.run(["bench", "rpc", "--quick"], timeout: 300)
        XCTAssertEqual(r.status, 0, "stderr:\n\(r.stderr)\nstdout:\n\(r.stdout)")

        var seen: [String: (value: Double, unit: String)] = [:]
        for b in benchLines(in: r.stdout) {
            XCTAssertGreaterThanOrEqual(b.value, 0, b.text)
            XCTAssertNil(seen[b.name], "duplicate BENCH line: \(b.text)")
            seen[b.name] = (b.value, b.unit)
        }
        for d in documented {
            let printed = seen.filter { d.matches($0.key) }
            XCTAssertFalse(printed.isEmpty, "documented in BENCHMARKS.md, not printed: BENCH \(d.name)")
            for (name, s) in printed { XCTAssertTrue(d.units.contains(s.unit), "unit of \(name): \(s.unit), documented \(d.units)") }
        }
        for name in seen.keys where !documented.contains(where: { $0.matches(name) }) {
            XCTFail("printed, not documented in BENCHMARKS.md: BENCH \(name)")
        }
        XCTAssertEqual(seen["rpc.concurrent.errors"]?.value, 0, "the concurrency case reported errors")
        XCTAssertEqual(seen["rpc.concurrent.calls"]?.value, 64 * 100)
        XCTAssertTrue(r.stdout.contains("rpc.concurrent"), "table row missing")
    }
}

import Foundation
import XCTest

/// `husk bench rpc --quick` as a subprocess: every BENCH line documented in
/// docs/BENCHMARKS.md is present and well-formed, and the concurrency case
/// has no errors. Timing values are never asserted on.
final class BenchRPCTests: XCTestCase {
    /// The husk executable next to the test bundle (or $HUSK_BIN).
    static var husk: String {
        if let env = ProcessInfo.processInfo.environment["HUSK_BIN"] { return env }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("husk").path
    }

    /// Every name docs/BENCHMARKS.md documents, with its unit.
    static var expected: [String: String] {
        var e: [String: String] = [:]
        for place in ["samecore", "crosscore"] {
            for c in ["raw", "null.c", "null.swift", "raw_4k", "echo_4k", "raw_64k", "echo_64k", "inline_1m", "shm_1m"] {
                e["rpc.\(c).p50.\(place)"] = "us"
                e["rpc.\(c).p99.\(place)"] = "us"
            }
            for c in ["null.c", "null.swift", "echo_4k", "echo_64k"] { e["rpc.\(c).vs_raw.\(place)"] = "x" }
            e["rpc.shm_1m.vs_inline.\(place)"] = "x"
        }
        e["rpc.concurrent.p50"] = "us"
        e["rpc.concurrent.p99"] = "us"
        e["rpc.concurrent.calls"] = "calls"
        e["rpc.concurrent.errors"] = "calls"
        e["rpc.concurrent.rate"] = "calls/s"
        return e
    }

    func testQuickRunPrintsEveryBenchLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rpcbench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("out"), errURL = dir.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.husk)
        p.arguments = ["bench", "rpc", "--quick"]
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let end = Date().addingTimeInterval(300)
        while p.isRunning && Date() < end { usleep(20_000) }
        if p.isRunning { p.terminate(); p.waitUntilExit(); XCTFail("husk bench rpc --quick did not finish in 300 s"); return }
        p.waitUntilExit()
        let out = try String(contentsOf: outURL, encoding: .utf8)
        let err = try String(contentsOf: errURL, encoding: .utf8)
        XCTAssertEqual(p.terminationStatus, 0, "stderr:\n\(err)\nstdout:\n\(out)")

        var seen: [String: (value: Double, unit: String)] = [:]
        for line in out.split(separator: "\n") where line.hasPrefix("BENCH ") {
            let f = line.split(separator: " ", omittingEmptySubsequences: false)
            guard f.count == 4, let v = Double(f[2]), v.isFinite, v >= 0 else {
                XCTFail("malformed BENCH line: \(line)"); continue
            }
            XCTAssertNil(seen[String(f[1])], "duplicate BENCH line: \(line)")
            seen[String(f[1])] = (v, String(f[3]))
        }
        for (name, unit) in Self.expected {
            guard let s = seen[name] else { XCTFail("missing BENCH \(name)"); continue }
            XCTAssertEqual(s.unit, unit, "unit of \(name)")
        }
        for name in seen.keys where Self.expected[name] == nil { XCTFail("undocumented BENCH \(name)") }
        XCTAssertEqual(seen["rpc.concurrent.errors"]?.value, 0, "the concurrency case reported errors")
        XCTAssertEqual(seen["rpc.concurrent.calls"]?.value, 64 * 100)
        XCTAssertTrue(out.contains("rpc.concurrent"), "table row missing")
    }
}

import Foundation
import HuskTestSupport
import XCTest

/// The husk tool as a person meets it: help, bad arguments, missing devices,
/// the demo on both device-free backends, Ctrl-C during a long job.
final class CommandLineTests: XCTestCase {
    func testHelpListsEverySubcommand() throws {
        let r = try Husk.run(["--help"])
        XCTAssertEqual(r.status, 0)
        for sub in ["demo", "run", "components", "devices", "abi", "conformance", "bench"] {
            XCTAssertTrue(r.stdout.contains(sub), "--help does not mention \(sub)")
        }
        for sub in ["run", "demo", "devices", "conformance", "bench hyp"] {
            let h = try Husk.run(sub.split(separator: " ").map(String.init) + ["--help"])
            XCTAssertEqual(h.status, 0, "\(sub) --help")
            XCTAssertTrue(h.stdout.contains("USAGE"), "\(sub) --help")
        }
    }

    func testBadArgumentsAreClearErrors() throws {
        let none = try Husk.run(["run"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("nothing to run"), none.stderr)
        let unknown = try Husk.run(["run", "--component", "nosuch"])
        XCTAssertTrue(unknown.stderr.contains("no built-in component 'nosuch'"), unknown.stderr)
        let backend = try Husk.run(["run", "--backend", "kvm", "--component", "edu"])
        XCTAssertTrue(backend.stderr.contains("unknown backend 'kvm'"), backend.stderr)
        let param = try Husk.run(["run", "--component", "blkcopy", "--param", "oops"])
        XCTAssertTrue(param.stderr.contains("is not COMPONENT.KEY=VALUE"), param.stderr)
        let simdev = try Husk.run(["devices", "--backend", "sim", "--device", "floppy"])
        XCTAssertEqual(simdev.status, 2, simdev.output)
    }

    func testMissingHardwareIsAClearError() throws {
        for backend in ["vfio", "uio"] {
            let r = try Husk.run(["run", "--backend", backend, "--device", "0000:7f:1f.7", "--component", "edu", "--once"])
            XCTAssertEqual(r.status, 2, "\(backend): \(r.output)")
            XCTAssertTrue(r.stderr.contains("0000:7f:1f.7"), "\(backend) must name the missing device: \(r.stderr)")
            let bad = try Husk.run(["run", "--backend", backend, "--device", "not-a-bdf", "--component", "edu", "--once"])
            XCTAssertEqual(bad.status, 2, "\(backend): \(bad.output)")
        }
    }

    func testComponentsAndDevicesListings() throws {
        let c = try Husk.run(["components"])
        XCTAssertEqual(c.status, 0)
        for name in ["edu", "blkcopy", "conformance"] { XCTAssertTrue(c.stdout.contains(name), c.stdout) }
        let d = try Husk.run(["devices", "--backend", "sim", "--device", "edu", "--device", "virtio-blk:size=1M"])
        XCTAssertEqual(d.status, 0, d.output)
        XCTAssertTrue(d.stdout.contains("1234:11e8"), d.stdout)
        XCTAssertTrue(d.stdout.contains("1af4:1042"), d.stdout)
        let a = try Husk.run(["abi", "--backend", "sim"])
        XCTAssertTrue(a.stdout.contains("hypercall ABI 1.1"), a.stdout)
        XCTAssertTrue(a.stdout.contains("dma-iommu"), a.stdout)
    }

    func testDemoOnPosixAndOnSimWithTheEduEngine() throws {
        let p = try Husk.run(["demo", "--size-mib", "4"], timeout: 300)
        XCTAssertEqual(p.status, 0, p.output)
        XCTAssertTrue(p.stdout.contains("verified by the host"), p.output)
        let s = try Husk.run(["demo", "--backend", "sim", "--size-mib", "2"], timeout: 300)
        XCTAssertEqual(s.status, 0, s.output)
        XCTAssertTrue(s.stdout.contains("verified by the host"), s.output)
        XCTAssertTrue(s.stderr.contains("edu"), "the sim demo offloads to the edu engine:\n\(s.stderr)")
    }

    func testInterruptCancelsTheJobAndFinalises() throws {
        let dir = try scratchURL(self)
        let src = dir.appendingPathComponent("big.img").path, dst = dir.appendingPathComponent("out.img").path
        // Sparse 4 GiB images: reading holes is fast but the copy still takes
        // far longer than the signal delay.
        for p in [src, dst] {
            XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: nil))
            XCTAssertEqual(truncate(p, 4 << 30), 0)
        }
        let r = try Husk.run(
            ["run", "--component", "blkcopy", "--param", "blkcopy.src=\(src)", "--param", "blkcopy.dst=\(dst)"],
            timeout: 120, signalAfter: (1.0, SIGINT))
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stderr.contains("signal 2"), r.stderr)
        XCTAssertTrue(r.stderr.contains("cancelled"), r.stderr)
    }
}

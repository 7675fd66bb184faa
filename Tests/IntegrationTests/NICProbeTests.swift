import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// The tap component and the NIC registry against the host kernel's own
/// network stack: a TAP interface in a network namespace the test creates,
/// the kernel on one end with 169.254.77.1, `husk nic probe` on the other
/// through the registry. The kernel's ARP and ICMP echo replies, and its
/// interface counters, are the oracle.
final class NICProbeTests: XCTestCase {
    private var namespace = ""

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for network namespaces and TAP interfaces") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { throw XCTSkip("no /usr/sbin/ip (iproute2)") }
        guard access("/dev/net/tun", R_OK | W_OK) == 0 else { throw XCTSkip("no /dev/net/tun") }
        namespace = "husknic\(getpid())"
        _ = try runTool("/usr/sbin/ip", ["netns", "del", namespace])
        let add = try runTool("/usr/sbin/ip", ["netns", "add", namespace])
        XCTAssertEqual(add.status, 0, add.output)
        let ns = namespace
        addTeardownBlock { _ = try? runTool("/usr/sbin/ip", ["netns", "del", ns]) }
    }

    /// A command prefix (Husk.run's `via`) that runs what follows in the test's namespace.
    private var inNamespace: [String] { ["/usr/sbin/ip", "netns", "exec", namespace] }

    private func ip(_ args: [String]) throws -> ToolResult {
        let r = try runTool("/usr/sbin/ip", ["-n", namespace] + args)
        XCTAssertEqual(r.status, 0, "ip \(args): \(r.output)")
        return r
    }

    /// Kernel-side packet counters of hk0: (received, transmitted).
    private func kernelCounters() throws -> (rx: Int, tx: Int) {
        let r = try ip(["-s", "-j", "link", "show", "hk0"])
        guard let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]],
            let stats = list.first?["stats64"] as? [String: Any],
            let rx = (stats["rx"] as? [String: Any])?["packets"] as? Int,
            let tx = (stats["tx"] as? [String: Any])?["packets"] as? Int
        else { throw TestFailure("cannot read hk0 counters: \(r.stdout)") }
        return (rx, tx)
    }

    func testTheKernelAnswersARPAndICMPThroughTheRegistry() throws {
        _ = try ip(["tuntap", "add", "dev", "hk0", "mode", "tap"])
        _ = try ip(["addr", "add", "169.254.77.1/24", "dev", "hk0"])
        _ = try ip(["link", "set", "hk0", "up"])
        let before = try kernelCounters()
        let r = try Husk.run(
            [
                "nic", "probe", "--tap", "hk0", "--ip", "169.254.77.2",
                "--peer", "169.254.77.1", "--count", "3"
            ], timeout: 60, via: inNamespace)
        XCTAssertEqual(r.status, 0, r.output)
        let mac = try ip(["-j", "link", "show", "hk0"]).stdout
        XCTAssertTrue(r.stdout.contains("arp: 169.254.77.1 is at "), r.stdout)
        if let line = r.stdout.split(separator: "\n").first(where: { $0.hasPrefix("arp: ") }) {
            let announced = String(line.split(separator: " ")[4])
            XCTAssertTrue(mac.contains(announced), "the ARP reply names the kernel's hk0 address \(announced): \(mac)")
        }
        for seq in 1...3 { XCTAssertTrue(r.stdout.contains("icmp: reply from 169.254.77.1 seq=\(seq) bytes=32"), r.stdout) }
        XCTAssertTrue(r.stdout.contains("probe: 3/3 echo replies"), r.stdout)
        // The kernel saw our frames arrive and sent its answers: at least
        // one ARP request and three echo requests in, as many replies out.
        let after = try kernelCounters()
        XCTAssertGreaterThanOrEqual(after.rx - before.rx, 4, "kernel rx \(before) -> \(after)")
        XCTAssertGreaterThanOrEqual(after.tx - before.tx, 4, "kernel tx \(before) -> \(after)")
        XCTAssertTrue(r.stderr.contains("tap: hk0:") && r.stderr.contains("sent (0 errors)"), r.stderr)
    }

    func testAMissingInterfaceIsAClearError() throws {
        let r = try Husk.run(
            [
                "nic", "probe", "--tap", "nosuch0", "--ip", "169.254.77.2",
                "--peer", "169.254.77.1"
            ], timeout: 60, via: inNamespace)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stderr.contains("cannot open the TAP interface: ENOENT (create it, or pass --param tap.create=1)"), r.stderr)
    }

    /// Nobody answers on a TAP interface that is down: the probe says so and fails.
    func testNoAnswerIsAFailureNotAHang() throws {
        _ = try ip(["tuntap", "add", "dev", "hk0", "mode", "tap"])
        let r = try Husk.run(
            [
                "nic", "probe", "--tap", "hk0", "--ip", "169.254.77.2",
                "--peer", "169.254.77.1", "--timeout", "0.5"
            ], timeout: 60, via: inNamespace)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.stdout.contains("arp: no reply from 169.254.77.1 within 0.5 s"), r.stdout)
    }
}

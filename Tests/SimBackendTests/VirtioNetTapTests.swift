import Dispatch
import Foundation
import Glibc
import HuskTestSupport
import HypercallABI
import Hypercalls
import SimBackend
import XCTest

/// The sim virtio-net device wired to a host TAP (`virtio-net:tap=IFNAME`),
/// with the host kernel on the other end as the oracle: a TAP in a network
/// namespace the test creates (169.254.78.1 on the kernel's side), the
/// register-level test driver on the sim side. The kernel answers ARP and
/// ICMP echo; frames it sends while the driver has posted no buffers are
/// dropped and counted.
final class VirtioNetTapTests: XCTestCase {
    private var namespace = ""
    private var backend: SimBackend?
    private var driver: VirtioNetTestDriver?
    static let ourIP: [UInt8] = [169, 254, 78, 2], kernelIP: [UInt8] = [169, 254, 78, 1]

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for network namespaces and TAP interfaces") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { throw XCTSkip("no /usr/sbin/ip (iproute2)") }
        guard access("/dev/net/tun", R_OK | W_OK) == 0 else { throw XCTSkip("no /dev/net/tun") }
        namespace = "husksimnet\(getpid())"
        _ = try runTool("/usr/sbin/ip", ["netns", "del", namespace])
        let add = try runTool("/usr/sbin/ip", ["netns", "add", namespace])
        XCTAssertEqual(add.status, 0, add.output)
        let ns = namespace
        addTeardownBlock { _ = try? runTool("/usr/sbin/ip", ["netns", "del", ns]) }
    }

    override func tearDown() {
        driver?.close()
        backend?.shutdown()  // closes the TAP descriptor before the namespace goes
        driver = nil
        backend = nil
    }

    @discardableResult
    private func ip(_ args: [String]) throws -> ToolResult {
        let r = try runTool("/usr/sbin/ip", ["-n", namespace] + args)
        XCTAssertEqual(r.status, 0, "ip \(args): \(r.output)")
        return r
    }

    /// Build the sim backend on a thread that entered the test's namespace
    /// (setns affects only the calling thread), so that the TAP is found
    /// there; the descriptor keeps it once the thread is gone.
    private func backendInNamespace(_ specs: [String]) throws -> SimBackend {
        final class Outcome: @unchecked Sendable {
            // @unchecked: written by the thread before it signals, read after.
            var result: Result<SimBackend, any Error> = .failure(TestFailure("the namespace thread did not run"))
        }
        let outcome = Outcome(), done = DispatchSemaphore(value: 0), path = "/var/run/netns/\(namespace)"
        let thread = Thread {
            defer { done.signal() }
            // setns(2) is not in Swift's Glibc module; CLONE_NEWNET is 0x40000000.
            typealias SetNS = @convention(c) (Int32, Int32) -> Int32
            guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                outcome.result = .failure(TestFailure("open \(path): errno \(errno)"))
                return
            }
            defer { close(fd) }
            guard unsafeBitCast(sym, to: SetNS.self)(fd, 0x4000_0000) == 0 else {
                outcome.result = .failure(TestFailure("setns \(path): errno \(errno)"))
                return
            }
            outcome.result = Result { try SimBackend(specs: specs) }
        }
        thread.start()
        done.wait()
        return try outcome.result.get()
    }

    /// The kernel's hk0: its MAC and (received, transmitted) packet counters.
    private func kernelInterface() throws -> (mac: [UInt8], rx: Int, tx: Int) {
        let r = try ip(["-s", "-j", "link", "show", "hk0"])
        guard let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]],
            let address = list.first?["address"] as? String,
            let stats = list.first?["stats64"] as? [String: Any],
            let rx = (stats["rx"] as? [String: Any])?["packets"] as? Int,
            let tx = (stats["tx"] as? [String: Any])?["packets"] as? Int
        else { throw TestFailure("cannot read hk0: \(r.stdout)") }
        return (address.split(separator: ":").compactMap { UInt8($0, radix: 16) }, rx, tx)
    }

    func testTheKernelAnswersARPAndICMPThroughATapWiredNIC() throws {
        try ip(["tuntap", "add", "dev", "hk0", "mode", "tap"])
        try ip(["addr", "add", "169.254.78.1/24", "dev", "hk0"])
        try ip(["link", "set", "hk0", "up"])
        let backend = try backendInNamespace(["virtio-net:tap=hk0,mac=52:54:00:4e:00:02"])
        self.backend = backend
        let nic = try XCTUnwrap(backend.simDevices.first as? SimVirtioNet)
        XCTAssertEqual(nic.mediumLabel, "tap hk0")
        let d = try VirtioNetTestDriver(backend: backend)
        driver = d
        try d.start()
        let ours = try d.mac

        // No receive buffers yet: the kernel's frames (ARP requests for us,
        // from a ping) are dropped and counted, and the kernel is not held up.
        let ping = try runTool("/usr/sbin/ip", ["netns", "exec", namespace, "ping", "-c", "2", "-i", "0.2", "-W", "1", "169.254.78.2"])
        XCTAssertNotEqual(ping.status, 0, "nobody answers for 169.254.78.2 yet")
        XCTAssertTrue(waitUntil(5) { nic.stats.rxNoBuffers >= 1 }, "\(nic.stats)")
        XCTAssertEqual(nic.stats.rxFrames, 0)

        try d.postRX()
        let before = try kernelInterface()
        // ARP: who has 169.254.78.1?
        XCTAssertTrue(try d.send(arpRequest(from: ours)))
        let arpReply = try XCTUnwrap(waitForFrame(d) { self.isARPReply($0, to: ours) }, "the kernel's ARP reply")
        let kernelMAC = Array(arpReply[6..<12])
        XCTAssertEqual(kernelMAC, before.mac, "the reply comes from hk0's address")
        XCTAssertEqual(Array(arpReply[28..<32]), VirtioNetTapTests.kernelIP)
        // ICMP echo to the kernel, which answers with the same payload.
        let payload = testPattern(78, 56)
        XCTAssertTrue(try d.send(echoRequest(from: ours, to: kernelMAC, id: 0x4e4e, seq: 1, payload: payload)))
        let reply = try XCTUnwrap(
            waitForFrame(d) { f in f.count >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 1 && f[34] == 0 }, "the kernel's echo reply")
        XCTAssertEqual(Array(reply[0..<6]), ours)
        XCTAssertEqual(Array(reply[26..<30]), VirtioNetTapTests.kernelIP)
        XCTAssertEqual(Array(reply[38..<42]), [0x4e, 0x4e, 0, 1], "id and sequence")
        XCTAssertEqual(Array(reply[42...]), payload)
        let after = try kernelInterface()
        XCTAssertGreaterThanOrEqual(after.rx - before.rx, 2, "the kernel received our ARP request and echo request")
        XCTAssertGreaterThanOrEqual(after.tx - before.tx, 2, "and sent both replies")
        XCTAssertEqual(nic.stats.txFrames, 2)
        XCTAssertEqual(nic.stats.txNoPeer + nic.stats.txErrors + nic.stats.deviceErrors, 0)
    }

    /// Wait (bounded) for a received frame that `match`es, skipping others
    /// (the kernel may send IPv6 neighbour discovery of its own).
    private func waitForFrame(_ d: VirtioNetTestDriver, ms: Int = 5000, _ match: @escaping ([UInt8]) -> Bool) -> [UInt8]? {
        let deadline = monotonicMs() + ms
        while monotonicMs() < deadline {
            for r in d.waitFrames(1, ms: 100) where match(r.frame) { return r.frame }
            try? d.postRX()
        }
        return nil
    }

    private func isARPReply(_ f: [UInt8], to mac: [UInt8]) -> Bool {
        f.count >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 2 && Array(f[32..<38]) == mac
    }

    private func arpRequest(from mac: [UInt8]) -> [UInt8] {
        [UInt8](repeating: 0xff, count: 6) + mac + [0x08, 0x06]
            + [0, 1, 0x08, 0x00, 6, 4, 0, 1] + mac + VirtioNetTapTests.ourIP
            + [UInt8](repeating: 0, count: 6) + VirtioNetTapTests.kernelIP
    }

    private func echoRequest(from src: [UInt8], to dst: [UInt8], id: UInt16, seq: UInt16, payload: [UInt8]) -> [UInt8] {
        var icmp: [UInt8] = [8, 0, 0, 0, UInt8(id >> 8), UInt8(id & 0xff), UInt8(seq >> 8), UInt8(seq & 0xff)] + payload
        let c = internetChecksum(icmp)
        icmp[2] = UInt8(c >> 8)
        icmp[3] = UInt8(c & 0xff)
        let total = UInt16(20 + icmp.count)
        var ipHeader: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 1, 0x40, 0, 64, 1, 0, 0]
        ipHeader += VirtioNetTapTests.ourIP + VirtioNetTapTests.kernelIP
        let h = internetChecksum(ipHeader)
        ipHeader[10] = UInt8(h >> 8)
        ipHeader[11] = UInt8(h & 0xff)
        return dst + src + [0x08, 0x00] + ipHeader + icmp
    }

    private func internetChecksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i < bytes.count {
            sum += UInt32(bytes[i]) << 8 | (i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0)
            i += 2
        }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}

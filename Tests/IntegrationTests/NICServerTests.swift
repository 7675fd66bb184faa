import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// `husk nic serve` with the tap component, against the host kernel's own
/// network stack in a network namespace the test creates: the kernel's ARP
/// and ICMP echo replies through the server (`husk nic probe --socket`),
/// a capture read back by tcpdump, the one-stack-port rule, and the server
/// as a `husk up` kind.
final class NICServerTests: XCTestCase {
    private var namespace = ""
    private var dir = ""

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for network namespaces and TAP interfaces") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { throw XCTSkip("no /usr/sbin/ip (iproute2)") }
        guard access("/dev/net/tun", R_OK | W_OK) == 0 else { throw XCTSkip("no /dev/net/tun") }
        dir = try scratchDirectory(self, prefix: "nicsrv")
        namespace = "husknics\(getpid())"
        _ = try runTool("/usr/sbin/ip", ["netns", "del", namespace])
        let add = try runTool("/usr/sbin/ip", ["netns", "add", namespace])
        XCTAssertEqual(add.status, 0, add.output)
        let ns = namespace
        addTeardownBlock { _ = try? runTool("/usr/sbin/ip", ["netns", "del", ns]) }
        // The kernel's end: hk0 with 169.254.77.1, up.
        _ = try ip(["tuntap", "add", "dev", "hk0", "mode", "tap"])
        _ = try ip(["addr", "add", "169.254.77.1/24", "dev", "hk0"])
        _ = try ip(["link", "set", "hk0", "up"])
    }

    private var inNamespace: [String] { ["/usr/sbin/ip", "netns", "exec", namespace] }
    private var socket: String { "\(dir)/nic.sock" }

    @discardableResult
    private func ip(_ args: [String]) throws -> ToolResult {
        let r = try runTool("/usr/sbin/ip", ["-n", namespace] + args)
        XCTAssertEqual(r.status, 0, "ip \(args): \(r.output)")
        return r
    }

    private func serve(_ extra: [String] = []) throws -> ChildProcess {
        try ChildProcess.huskServer(
            self, ["nic", "serve", "--tap", "hk0", "--socket", socket] + extra, dir: dir, tag: "nic", via: inNamespace)
    }

    private func probe(count: Int = 3, timeout: Double = 5) throws -> ToolResult {
        try Husk.run(
            [
                "nic", "probe", "--socket", socket, "--ip", "169.254.77.2", "--peer", "169.254.77.1", "--count", "\(count)", "--timeout",
                "\(timeout)"
            ],
            timeout: 60, via: inNamespace)
    }

    /// Counter `name` of hk0 from `husk nic info`.
    private func counter(_ name: String, in info: String) -> Int? {
        guard let r = info.range(of: "\(name) ") else { return nil }
        return Int(info[r.upperBound...].prefix { $0.isNumber })
    }

    func testTheKernelAnswersThroughTheServerAndTheDumpSeesBothDirections() throws {
        let server = try serve()
        XCTAssertTrue(server.stdout.contains("interface hk0: mac "), server.stdout)
        let pcap = "\(dir)/hk0.pcap"
        let dump = try ChildProcess(
            inNamespace[0],
            Array(inNamespace.dropFirst()) + [Husk.binary, "nic", "dump", "--socket", socket, "--output", pcap, "--seconds", "30"],
            dir: dir, tag: "dump")
        addTeardownBlock { dump.kill9() }
        // The monitor port is open once the server logs its second connection.
        guard waitUntil(10, { server.stderr.contains("connection 2 opened") }) else {
            throw TestFailure("no monitor port: \(server.stderr)")
        }

        let r = try probe()
        XCTAssertEqual(r.status, 0, r.output)
        for seq in 1...3 { XCTAssertTrue(r.stdout.contains("icmp: reply from 169.254.77.1 seq=\(seq) bytes=32"), r.stdout) }
        let kernelMAC = try ip(["-j", "link", "show", "hk0"]).stdout
        if let line = r.stdout.split(separator: "\n").first(where: { $0.hasPrefix("arp: ") }) {
            XCTAssertTrue(kernelMAC.contains(String(line.split(separator: " ")[4])), "ARP names the kernel's hk0: \(line)")
        }

        let info = try Husk.run(["nic", "info", "--socket", socket], timeout: 30, via: inNamespace)
        XCTAssertEqual(info.status, 0, info.output)
        XCTAssertTrue(info.stdout.contains("hk0: mac ") && info.stdout.contains("mtu 1500 link up"), info.stdout)
        XCTAssertGreaterThanOrEqual(counter("tx_frames", in: info.stdout) ?? 0, 4, info.stdout)
        XCTAssertGreaterThanOrEqual(counter("rx_frames", in: info.stdout) ?? 0, 4, info.stdout)
        XCTAssertEqual(counter("tx_errors", in: info.stdout), 0, info.stdout)

        // SIGINT ends the capture on a whole record; tcpdump is the judge.
        kill(dump.pid, SIGINT)
        XCTAssertEqual(dump.wait(timeout: 20), 0, dump.output)
        XCTAssertTrue(dump.stderr.contains("frames written to \(pcap)"), dump.stderr)
        let read = try runTool("/usr/bin/tcpdump", ["-n", "-r", pcap])
        XCTAssertEqual(read.status, 0, read.output)
        XCTAssertTrue(read.stdout.contains("ARP, Request who-has 169.254.77.1 tell 169.254.77.2"), read.stdout)
        XCTAssertTrue(read.stdout.contains("ARP, Reply 169.254.77.1 is-at"), read.stdout)
        for seq in 1...3 {
            XCTAssertTrue(read.stdout.contains("169.254.77.2 > 169.254.77.1: ICMP echo request, id 18517, seq \(seq)"), read.stdout)
            XCTAssertTrue(read.stdout.contains("169.254.77.1 > 169.254.77.2: ICMP echo reply, id 18517, seq \(seq)"), read.stdout)
        }

        kill(server.pid, SIGTERM)
        XCTAssertEqual(server.wait(timeout: 20), 0, server.output)
        XCTAssertTrue(server.stderr.contains("signal 15, shutting down"), server.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "the socket file is removed at exit")
    }

    /// The virtio_net driver end to end with the kernel as the peer: `husk
    /// nic serve --backend sim --device virtio-net:tap=hk0` drives a sim
    /// virtio NIC wired to the kernel's hk0, and the probe's ARP and echo
    /// requests go through the server, the driver's transmit queue, the sim
    /// device and the TAP; the kernel's replies come back through the
    /// device's receive queue and the driver. The driver's own counters
    /// (logged at detach) and the kernel's agree that the frames went both ways.
    func testTheKernelAnswersThroughTheVirtioNetDriverOnASimNIC() throws {
        let before = try kernelCounters()
        let server = try ChildProcess.huskServer(
            self, ["nic", "serve", "--backend", "sim", "--device", "virtio-net:tap=hk0", "--socket", socket], dir: dir, tag: "vnet",
            via: inNamespace)
        XCTAssertTrue(server.stdout.contains("interface vnet0: mac 52:54:00:"), server.stdout)
        XCTAssertTrue(server.stdout.contains("link up"), server.stdout)
        let r = try probe()
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("arp: 169.254.77.1 is at "), r.stdout)
        for seq in 1...3 { XCTAssertTrue(r.stdout.contains("icmp: reply from 169.254.77.1 seq=\(seq) bytes=32"), r.stdout) }
        let after = try kernelCounters()
        XCTAssertGreaterThanOrEqual(after.rx - before.rx, 4, "kernel rx \(before) -> \(after)")
        XCTAssertGreaterThanOrEqual(after.tx - before.tx, 4, "kernel tx \(before) -> \(after)")

        kill(server.pid, SIGTERM)
        XCTAssertEqual(server.wait(timeout: 20), 0, server.output)
        // "detached interface vnet0: received N frames (...), sent M frames (...)"
        guard let line = server.stderr.split(separator: "\n").first(where: { $0.contains("detached interface vnet0: received ") }) else {
            return XCTFail("no detach line from virtio_net: \(server.stderr)")
        }
        func number(after word: String) -> Int? {
            guard let range = line.range(of: word) else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        XCTAssertGreaterThanOrEqual(number(after: "received ") ?? 0, 4, String(line))
        XCTAssertGreaterThanOrEqual(number(after: "sent ") ?? 0, 4, String(line))
        XCTAssertTrue(line.contains("0 errors") && line.contains("0 lost") && line.contains("0 reset(s)"), String(line))
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

    /// One stack port per interface: a second stack gets EBUSY naming the
    /// rule; once the first client is killed, the port is free again.
    func testOneStackPortAtATimeAndADeadClientReleasesIt() throws {
        _ = try serve()
        // The first probe holds the stack port while it waits for an answer
        // that cannot come (nobody has 169.254.77.9).
        let holder = try ChildProcess(
            inNamespace[0],
            Array(inNamespace.dropFirst()) + [
                Husk.binary, "nic", "probe", "--socket", socket, "--ip", "169.254.77.2", "--peer", "169.254.77.9", "--timeout", "60"
            ], dir: dir, tag: "holder")
        addTeardownBlock { holder.kill9() }
        var busy: ToolResult?
        XCTAssertTrue(
            waitUntil(10) {
                busy = try? self.probe(count: 1)
                return busy?.stderr.contains("EBUSY") == true
            }, busy?.output ?? "")
        XCTAssertEqual(busy?.status, 1)
        XCTAssertTrue(busy?.stderr.contains("already has a stack port open") == true, busy?.stderr ?? "")
        holder.kill9()
        var after: ToolResult?
        XCTAssertTrue(
            waitUntil(10) {
                after = try? self.probe(count: 1)
                return after?.status == 0
            }, after?.output ?? "")
    }

    func testMistakesAreClearErrors() throws {
        let none = try Husk.run(["nic", "serve", "--socket", socket], timeout: 30)
        XCTAssertEqual(none.status, 64, none.output)
        XCTAssertTrue(none.stderr.contains("nothing to serve: give --tap NAME"), none.stderr)
        let missing = try Husk.run(["nic", "serve", "--tap", "nosuch0", "--socket", socket], timeout: 30, via: inNamespace)
        XCTAssertEqual(missing.status, 1, missing.output)
        XCTAssertTrue(missing.stderr.contains("cannot open the TAP interface: ENOENT"), missing.stderr)
        let noServer = try Husk.run(["nic", "dump", "--socket", "\(dir)/none.sock", "--output", "\(dir)/x.pcap"], timeout: 30)
        XCTAssertEqual(noServer.status, 1, noServer.output)
        XCTAssertTrue(noServer.stderr.contains("husk nic dump: \(dir)/none.sock:"), noServer.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/x.pcap"), "no capture file without a server")
        _ = try serve()
        let wrong = try Husk.run(
            ["nic", "dump", "--socket", socket, "--interface", "eth9", "--output", "\(dir)/y.pcap"], timeout: 30, via: inNamespace)
        XCTAssertEqual(wrong.status, 1, wrong.output)
        XCTAssertTrue(wrong.stderr.contains("no interface 'eth9'"), wrong.stderr)
    }

    /// `husk up` supervises a NIC server like any other: the socket stays
    /// while the server is killed and restarted, and a probe works before
    /// and after.
    func testHuskUpSupervisesANICServer() throws {
        let config = "\(dir)/stack.toml"
        let text = """
            [stack]
            name = "nic\(getpid())"
            state_dir = "\(dir)/state"

            [server.net]
            kind = "nic"
            socket = "\(socket)"
            args = ["--tap", "hk0"]

            """
        XCTAssertTrue(FileManager.default.createFile(atPath: config, contents: Data(text.utf8)))
        let up = try ChildProcess(
            inNamespace[0], Array(inNamespace.dropFirst()) + [Husk.binary, "up", "--config", config], dir: dir, tag: "up")
        addTeardownBlock { up.kill9() }
        var first: ToolResult?
        XCTAssertTrue(
            waitUntil(20) {
                first = try? self.probe(count: 1)
                return first?.status == 0
            }, (first?.output ?? "") + up.stderr)
        // Kill the server; the supervisor restarts it on the same socket.
        guard let line = up.stderr.split(separator: "\n").first(where: { $0.contains("server net started (pid ") }),
            let pid = Int32(line.split(separator: "(pid ")[1].prefix { $0.isNumber })
        else { throw TestFailure("no start line: \(up.stderr)") }
        kill(pid, SIGKILL)
        guard waitUntil(20, { up.stderr.components(separatedBy: "server net started").count > 2 }) else {
            throw TestFailure("the server was not restarted: \(up.stderr)")
        }
        var second: ToolResult?
        XCTAssertTrue(
            waitUntil(20) {
                second = try? self.probe(count: 1)
                return second?.status == 0
            }, (second?.output ?? "") + up.stderr)
        kill(up.pid, SIGTERM)
        XCTAssertEqual(up.wait(timeout: 30), 0, up.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "husk up removed the socket")
    }
}

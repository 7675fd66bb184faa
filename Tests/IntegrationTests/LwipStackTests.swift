import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// The lwip component (lwIP 2.1.3, vendored unmodified) on the tap
/// component, against the host kernel's own network stack: a TAP interface
/// in a network namespace the test creates, the kernel on one end with
/// 10.77.0.1/24 and fd77::1/64, `husk run --component tap --component lwip`
/// on the other with 10.77.0.2 and fd77::2. The oracles are tools nobody
/// here wrote: the kernel's ping and ping -6, iperf 2 against lwIP's
/// lwiperf, and the kernel's TCP (a Python socket client) against the
/// component's echo service.
final class LwipStackTests: XCTestCase {
    private var namespace = ""

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for network namespaces and TAP interfaces") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { throw XCTSkip("no /usr/sbin/ip (iproute2)") }
        guard access("/dev/net/tun", R_OK | W_OK) == 0 else { throw XCTSkip("no /dev/net/tun") }
        namespace = "husklwip\(getpid())"
        _ = try runTool("/usr/sbin/ip", ["netns", "del", namespace])
        let add = try runTool("/usr/sbin/ip", ["netns", "add", namespace])
        XCTAssertEqual(add.status, 0, add.output)
        let ns = namespace
        addTeardownBlock { _ = try? runTool("/usr/sbin/ip", ["netns", "del", ns]) }
    }

    private var inNamespace: [String] { ["/usr/sbin/ip", "netns", "exec", namespace] }

    @discardableResult
    private func ip(_ args: [String]) throws -> ToolResult {
        let r = try runTool("/usr/sbin/ip", ["-n", namespace] + args)
        XCTAssertEqual(r.status, 0, "ip \(args): \(r.output)")
        return r
    }

    /// A tool run inside the namespace.
    private func inside(_ tool: String, _ args: [String], timeout: Double = 60) throws -> ToolResult {
        try runTool(inNamespace[0], Array(inNamespace.dropFirst()) + [tool] + args, timeout: timeout)
    }

    private func requireTool(_ path: String, package: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("no \(path) (Debian package \(package); scripts/setup.sh installs it)")
        }
    }

    /// The kernel's end of the TAP: hk0 with 10.77.0.1/24 and fd77::1/64, up.
    private func kernelSide() throws {
        try ip(["tuntap", "add", "dev", "hk0", "mode", "tap"])
        try ip(["addr", "add", "10.77.0.1/24", "dev", "hk0"])
        try ip(["addr", "add", "fd77::1/64", "dev", "hk0", "nodad"])
        try ip(["link", "set", "hk0", "up"])
    }

    /// `husk run` with the tap and lwip components in the namespace, returned
    /// once lwIP says both IPv6 addresses passed duplicate address detection.
    private func startStack(_ extra: [String] = []) throws -> ChildProcess {
        let args =
            inNamespace + [
                Husk.binary, "run", "--component", "tap", "--component", "lwip", "--param", "tap.name=hk0",
                "--param", "lwip.ifname=hk0", "--param", "lwip.address=10.77.0.2/24",
                "--param", "lwip.address6=fd77::2"
            ] + extra
        let child = try ChildProcess(args[0], Array(args.dropFirst()), tag: "lwip")
        addTeardownBlock { child.kill9() }
        let ready = waitUntil(30) {
            let log = child.stderr
            return !child.process.isRunning
                || (log.contains("IPv6 address FD77::2 is preferred") && preferredLinkLocal(log))
        }
        guard ready, child.process.isRunning else {
            child.kill9()
            throw TestFailure("the stack did not come up:\n\(child.output)")
        }
        return child
    }

    private func preferredLinkLocal(_ log: String) -> Bool {
        log.split(separator: "\n").contains { $0.contains("IPv6 address FE80::") && $0.hasSuffix(" is preferred") }
    }

    /// The link-local address lwIP made from the MAC (its log names it).
    private func linkLocal(_ child: ChildProcess) -> String? {
        child.stderr.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "IPv6 address FE80::") else { return nil }
            return String(line[r.lowerBound...].dropFirst("IPv6 address ".count).prefix { $0 != " " }).lowercased()
        }.first
    }

    /// SIGTERM: the stack is taken down and everything it held is released.
    private func stop(_ child: ChildProcess) throws {
        let r = try child.finish(timeout: 30, signalAfter: (0, SIGTERM))
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stderr.contains("lwip: hk0: ") && r.stderr.contains("frames received"), r.stderr)
        XCTAssertFalse(r.stderr.contains("leaked"), r.stderr)
        XCTAssertFalse(r.stderr.contains("never destroyed"), r.stderr)
        XCTAssertFalse(r.stderr.contains("still open") || r.stderr.contains("still registered"), r.stderr)
    }

    func testTheKernelPingsTheStackOverIPv4AndIPv6() throws {
        try requireTool("/usr/bin/ping", package: "iputils-ping")
        try kernelSide()
        let stack = try startStack()
        let v4 = try inside("/usr/bin/ping", ["-c", "3", "-W", "5", "10.77.0.2"])
        XCTAssertEqual(v4.status, 0, v4.output)
        XCTAssertTrue(v4.stdout.contains("3 packets transmitted, 3 received"), v4.stdout)
        let v6 = try inside("/usr/bin/ping", ["-6", "-c", "3", "-W", "5", "fd77::2"])
        XCTAssertEqual(v6.status, 0, v6.output)
        XCTAssertTrue(v6.stdout.contains("3 packets transmitted, 3 received"), v6.stdout)
        let ll = try XCTUnwrap(linkLocal(stack), stack.stderr)
        let v6ll = try inside("/usr/bin/ping", ["-6", "-c", "3", "-W", "5", "\(ll)%hk0"])
        XCTAssertEqual(v6ll.status, 0, v6ll.output)
        XCTAssertTrue(v6ll.stdout.contains("3 packets transmitted, 3 received"), v6ll.stdout)
        // The kernel learnt the stack's MAC through ARP: the one the tap component reported.
        let neigh = try ip(["neigh", "show", "10.77.0.2", "dev", "hk0"]).stdout
        let mac = stack.stderr.split(separator: "\n").first { $0.contains("lwIP interface: MAC ") }
            .map { String($0.split(separator: " ").first { $0.filter { $0 == ":" }.count == 5 }!.dropLast()) }
        XCTAssertNotNil(mac, stack.stderr)
        if let mac { XCTAssertTrue(neigh.contains(mac), "kernel neighbour \(neigh), stack MAC \(mac)") }
        try stop(stack)
    }

    /// iperf 2 (the kernel's TCP) sends to lwIP's lwiperf server for 2 s; both sides report the test.
    func testIperfAgainstLwiperf() throws {
        try requireTool("/usr/bin/iperf", package: "iperf")
        try kernelSide()
        let stack = try startStack(["--param", "lwip.lwiperf=1"])
        let r = try inside("/usr/bin/iperf", ["-c", "10.77.0.2", "-t", "2", "-f", "m"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.stdout.contains("connected with 10.77.0.2 port 5001"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Mbits/sec"), r.stdout)
        XCTAssertTrue(waitUntil(10) { stack.stderr.contains("lwiperf: test done from 10.77.0.1") }, stack.stderr)
        try stop(stack)
    }

    /// The kernel's TCP sends 2 MB to the echo service over IPv4 and over
    /// IPv6 while reading the echo; every byte comes back in order.
    func testTCPEchoOverIPv4AndIPv6() throws {
        try requireTool("/usr/bin/python3", package: "python3")
        try kernelSide()
        let stack = try startStack(["--param", "lwip.echo=7"])
        let client = """
            import socket, sys, threading
            for addr in ("10.77.0.2", "fd77::2"):
                for size in (1, 1000, 2000000):
                    s = socket.create_connection((addr, 7), timeout=20)
                    data = bytes((i * 7 + size) % 251 for i in range(size))
                    def send():
                        s.sendall(data)
                        s.shutdown(socket.SHUT_WR)
                    t = threading.Thread(target=send)
                    t.start()
                    got = bytearray()
                    while True:
                        b = s.recv(65536)
                        if not b:
                            break
                        got += b
                    t.join()
                    s.close()
                    print(addr, size, "ok" if got == data else "MISMATCH %d bytes" % len(got))
            """
        let r = try inside("/usr/bin/python3", ["-c", client], timeout: 120)
        XCTAssertEqual(r.status, 0, r.output)
        for addr in ["10.77.0.2", "fd77::2"] {
            for size in [1, 1000, 2_000_000] { XCTAssertTrue(r.stdout.contains("\(addr) \(size) ok"), r.stdout) }
        }
        try stop(stack)
    }

    func testAMissingInterfaceIsAClearError() throws {
        let r = try Husk.run(
            ["run", "--component", "lwip", "--param", "lwip.ifname=nosuch0", "--param", "lwip.address=10.77.0.2/24"],
            timeout: 60, via: inNamespace)
        XCTAssertEqual(r.status, 3, r.output)
        XCTAssertTrue(
            r.stderr.contains("nosuch0: cannot open the interface: ENOENT (is its NIC component loaded, e.g. --component tap?)"),
            r.stderr)
        XCTAssertFalse(r.stderr.contains("leaked"), r.stderr)
    }

    func testBadParametersAreEachNamed() throws {
        let r = try Husk.run(
            [
                "run", "--component", "lwip", "--param", "lwip.address=10.77.0.2", "--param", "lwip.gateway=10.77.0.300",
                "--param", "lwip.address6=fe80::1", "--param", "lwip.echo=70000"
            ], timeout: 60)
        XCTAssertEqual(r.status, 3, r.output)
        for text in [
            "parameter address='10.77.0.2' is not an IPv4 address with a prefix length",
            "parameter gateway='10.77.0.300' is not an IPv4 address",
            "parameter address6='fe80::1' is not a global or unique-local IPv6 address", "echo"
        ] { XCTAssertTrue(r.stderr.contains(text), "\(text):\n\(r.stderr)") }
    }
}

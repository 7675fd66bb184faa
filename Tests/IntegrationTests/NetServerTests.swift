import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// `husk net serve` (the lwip component's sockets over the native RPC)
/// against tools nobody here wrote, in a network namespace the test
/// creates: the host kernel on one end of a TAP (10.77.0.1/24, fd77::1),
/// the Husk stack on the other (10.77.0.2, fd77::2), reached only through
/// the net RPC by `husk net connect|listen`. curl fetches a file from a
/// server running on the stack, socat moves data both ways over TCP and UDP,
/// and refused, reset and timed-out connections reach the client as
/// ECONNREFUSED, ECONNRESET and ETIMEDOUT. The same stack also runs over
/// `husk nic serve` in another process.
final class NetServerTests: XCTestCase {
    private var namespace = ""
    private var dir = ""
    private var socket: String { dir + "/net.sock" }

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for network namespaces and TAP interfaces") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { throw XCTSkip("no /usr/sbin/ip (iproute2)") }
        guard access("/dev/net/tun", R_OK | W_OK) == 0 else { throw XCTSkip("no /dev/net/tun") }
        namespace = "husknet\(getpid())"
        dir = try scratchDirectory(self, prefix: "husknet")
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

    /// A shell command inside the namespace (files in the scratch directory).
    private func sh(_ command: String, timeout: Double = 60) throws -> ToolResult {
        try runTool(inNamespace[0], Array(inNamespace.dropFirst()) + ["/bin/sh", "-c", "cd \(dir) && \(command)"], timeout: timeout)
    }

    /// A shell command inside the namespace, left running (killed at teardown).
    private func background(_ command: String, tag: String) throws -> ChildProcess {
        let c = try ChildProcess(
            inNamespace[0], Array(inNamespace.dropFirst()) + ["/bin/sh", "-c", "cd \(dir) && exec \(command)"], tag: tag)
        addTeardownBlock { c.kill9() }
        return c
    }

    private func requireTool(_ path: String, package: String) throws {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw XCTSkip("no \(path) (Debian package \(package); scripts/setup.sh installs it)")
        }
    }

    private var husk: String { Husk.binary }

    /// The kernel's end of `tap`: .1 addresses, up.
    private func kernelSide(_ tap: String = "hk0", net: String = "10.77.0") throws {
        try ip(["addr", "add", "\(net).1/24", "dev", tap])
        try ip(["addr", "add", "fd77::1/64", "dev", tap, "nodad"])
        try ip(["link", "set", tap, "up"])
    }

    /// `husk net serve` over a TAP it creates, the kernel's side configured,
    /// returned once the stack's IPv6 address is usable.
    private func serve(_ extra: [String] = []) throws -> ChildProcess {
        let server = try ChildProcess.huskServer(
            self, ["net", "serve", "--tap", "hk0", "--address", "10.77.0.2/24", "--address6", "fd77::2", "--socket", socket] + extra,
            dir: dir, tag: "net", via: inNamespace)
        try kernelSide()
        XCTAssertTrue(waitUntil(20) { server.stderr.contains("IPv6 address FD77::2 is preferred") }, server.stderr)
        return server
    }

    /// SIGTERM: exit 0, nothing leaked, the TAP it created gone.
    private func stop(_ server: ChildProcess, tap: String? = "hk0") throws {
        let r = try server.finish(timeout: 30, signalAfter: (0, SIGTERM))
        XCTAssertEqual(r.status, 0, r.output)
        for bad in ["leaked", "never destroyed", "still open", "still registered", "panic"] {
            XCTAssertFalse(r.stderr.contains(bad), "\(bad):\n\(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "the socket file is removed at exit")
        if let tap {
            let link = try runTool("/usr/sbin/ip", ["-n", namespace, "link", "show", tap])
            XCTAssertNotEqual(link.status, 0, "the TAP the server created is removed at exit: \(link.output)")
        }
    }

    /// `bytes` of pseudo-random data in `name` (scratch directory).
    private func makeFile(_ name: String, bytes: Int, seed: UInt8) throws {
        var b = [UInt8](repeating: 0, count: bytes)
        var x = UInt32(seed) &* 2_654_435_761 | 1
        for i in 0..<bytes {
            x ^= x << 13
            x ^= x >> 17
            x ^= x << 5
            b[i] = UInt8(truncatingIfNeeded: x)
        }
        try Data(b).write(to: URL(fileURLWithPath: dir + "/" + name))
    }

    private func same(_ a: String, _ b: String) -> Bool {
        guard let x = FileManager.default.contents(atPath: dir + "/" + a), let y = FileManager.default.contents(atPath: dir + "/" + b)
        else {
            return false
        }
        return x == y && !x.isEmpty
    }

    /// An HTTP/1.0 response with `body` as its content, in `name`.
    private func makeResponse(_ name: String, body: String) throws {
        let size = try FileManager.default.attributesOfItem(atPath: dir + "/" + body)[.size] as! Int
        var r = Data("HTTP/1.0 200 OK\r\nContent-Length: \(size)\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        r.append(FileManager.default.contents(atPath: dir + "/" + body)!)
        try r.write(to: URL(fileURLWithPath: dir + "/" + name))
    }

    // MARK: tests

    /// curl (the kernel's TCP) fetches 1 MB from an HTTP "server" that is
    /// `husk net listen` on the stack, over IPv4 and IPv6; the bytes match
    /// and the listener saw curl's request. The TAP did not exist before:
    /// the server made it, and removes it at exit.
    func testCurlFetchesAFileServedThroughTheNetRPC() throws {
        try requireTool("/usr/bin/curl", package: "curl")
        let server = try serve()
        XCTAssertTrue(server.stdout.contains("stack lwip on hk0: 10.77.0.2/24, fd77::2"), server.stdout)
        try makeFile("body", bytes: 1 << 20, seed: 3)
        try makeResponse("response", body: "body")
        for (n, url) in ["http://10.77.0.2:8080/file", "http://[fd77::2]:8080/file"].enumerated() {
            let listener = try background("\(husk) net listen --socket \(socket) 8080 < response > request\(n)", tag: "listen\(n)")
            XCTAssertTrue(waitUntil(10) { listener.stderr.contains("listening on") }, listener.stderr)
            let c = try sh("/usr/bin/curl -s -S --max-time 20 -o fetched\(n) \(url)")
            XCTAssertEqual(c.status, 0, c.output)
            XCTAssertTrue(same("body", "fetched\(n)"), "the fetched bytes differ from the file (\(url))")
            XCTAssertEqual(listener.wait(timeout: 20), 0, listener.output)
            XCTAssertTrue(listener.stderr.contains("connection from"), listener.stderr)
            let request = (try? String(contentsOfFile: dir + "/request\(n)", encoding: .utf8)) ?? ""
            XCTAssertTrue(request.hasPrefix("GET /file HTTP/1.1\r\n"), request)
        }
        try stop(server)
    }

    /// socat moves data both ways over TCP (1 MB each way at once, with
    /// socat as the client and as the server) and over UDP (each way).
    func testSocatMovesDataBothWaysOverTCPAndUDP() throws {
        try requireTool("/usr/bin/socat", package: "socat")
        let server = try serve()
        try makeFile("a", bytes: 1 << 20, seed: 5)
        try makeFile("b", bytes: 1 << 20, seed: 7)
        // socat connects to husk net listen; both send and receive at once.
        let listener = try background("\(husk) net listen --socket \(socket) 7000 < a > got-b", tag: "listen")
        XCTAssertTrue(waitUntil(10) { listener.stderr.contains("listening on") }, listener.stderr)
        let s1 = try sh("/usr/bin/socat -t 20 - TCP4:10.77.0.2:7000 < b > got-a", timeout: 60)
        XCTAssertEqual(s1.status, 0, s1.output)
        XCTAssertEqual(listener.wait(timeout: 30), 0, listener.output)
        XCTAssertTrue(same("a", "got-a"), "husk net listen -> socat")
        XCTAssertTrue(same("b", "got-b"), "socat -> husk net listen")
        // husk net connect to a socat echo server over IPv6.
        let echo = try background("/usr/bin/socat -t 20 TCP6-LISTEN:7001,reuseaddr PIPE", tag: "echo")
        usleep(300_000)
        let c = try sh("\(husk) net connect --socket \(socket) fd77::1 7001 < a > echoed", timeout: 60)
        XCTAssertEqual(c.status, 0, c.output)
        XCTAssertTrue(same("a", "echoed"), "1 MB through the socat echo server")
        _ = echo.wait(timeout: 10)
        // UDP: a datagram to a socat echo server and back; one from socat to husk net listen --udp.
        let uecho = try background("/usr/bin/socat UDP4-RECVFROM:7002,fork EXEC:/bin/cat", tag: "uecho")
        usleep(300_000)
        let u = try sh("printf 'datagram one' | \(husk) net connect --udp --wait 1 --socket \(socket) 10.77.0.1 7002")
        XCTAssertEqual(u.status, 0, u.output)
        XCTAssertEqual(u.stdout, "datagram one")
        uecho.kill9()
        let ulisten = try background("\(husk) net listen --udp --wait 0 --socket \(socket) 7003 < /dev/null > udp-got", tag: "ulisten")
        XCTAssertTrue(waitUntil(10) { ulisten.stderr.contains("listening on") }, ulisten.stderr)
        let us = try sh("printf 'datagram two' | /usr/bin/socat -u - UDP4-SENDTO:10.77.0.2:7003")
        XCTAssertEqual(us.status, 0, us.output)
        XCTAssertEqual(ulisten.wait(timeout: 20), 0, ulisten.output)
        XCTAssertEqual(try String(contentsOfFile: dir + "/udp-got", encoding: .utf8), "datagram two")
        XCTAssertTrue(ulisten.stderr.contains("connection from [::ffff:10.77.0.1]:"), ulisten.stderr)
        try stop(server)
    }

    /// Refused, reset and timed-out connections, a port in use and a
    /// privileged port reach the client with POSIX's names.
    func testErrorsReachTheClientByName() throws {
        try requireTool("/usr/bin/python3", package: "python3")
        let server = try serve()
        let refused = try sh("\(husk) net connect --socket \(socket) 10.77.0.1 7010 < /dev/null")
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.stderr.contains("connect 10.77.0.1:7010: ECONNREFUSED"), refused.stderr)
        // Nobody has 10.77.0.99: no ARP reply, no SYN-ACK.
        let t0 = Date()
        let timedOut = try sh("\(husk) net connect --timeout-ms 1500 --socket \(socket) 10.77.0.99 80 < /dev/null")
        XCTAssertEqual(timedOut.status, 1, timedOut.output)
        XCTAssertTrue(timedOut.stderr.contains("connect 10.77.0.99:80: ETIMEDOUT"), timedOut.stderr)
        XCTAssertGreaterThan(Date().timeIntervalSince(t0), 1.4)
        // The kernel accepts, then resets the connection (SO_LINGER 0).
        let resetter = try background(
            """
            /usr/bin/python3 -c 'import socket,struct,time
            s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(("10.77.0.1",7011)); s.listen(1)
            c,_=s.accept(); time.sleep(0.3); c.setsockopt(socket.SOL_SOCKET,socket.SO_LINGER,struct.pack("ii",1,0)); c.close()'
            """, tag: "reset")
        usleep(500_000)
        let reset = try sh("sleep 3 | \(husk) net connect --socket \(socket) 10.77.0.1 7011")
        XCTAssertEqual(reset.status, 1, reset.output)
        XCTAssertTrue(reset.stderr.contains("recv: ECONNRESET"), reset.stderr)
        _ = resetter.wait(timeout: 10)
        // A port in use, and one below 1024 without the admin right.
        let holder = try background("\(husk) net listen --socket \(socket) 7012 < /dev/null", tag: "holder")
        XCTAssertTrue(waitUntil(10) { holder.stderr.contains("listening on") }, holder.stderr)
        let inUse = try sh("\(husk) net listen --socket \(socket) 7012 < /dev/null")
        XCTAssertEqual(inUse.status, 1, inUse.output)
        XCTAssertTrue(inUse.stderr.contains("EADDRINUSE"), inUse.stderr)
        holder.kill9()
        let low = try sh("\(husk) net listen --socket \(socket) 80 < /dev/null")
        XCTAssertEqual(low.status, 1, low.output)
        XCTAssertTrue(low.stderr.contains("EACCES"), low.stderr)
        try stop(server)
    }

    /// The admin right in the policy lets a client bind port 80, which curl then reaches.
    func testThePolicyGrantsPrivilegedPorts() throws {
        try requireTool("/usr/bin/curl", package: "curl")
        try "default allow\nallow net.admin uid=0\n".write(toFile: dir + "/policy", atomically: true, encoding: .utf8)
        let server = try serve(["--policy", dir + "/policy"])
        try makeFile("body", bytes: 100_000, seed: 9)
        try makeResponse("response", body: "body")
        let listener = try background("\(husk) net listen --socket \(socket) 80 < response > /dev/null", tag: "listen80")
        XCTAssertTrue(waitUntil(10) { listener.stderr.contains("listening on [::]:80") }, listener.stderr)
        let c = try sh("/usr/bin/curl -s -S --max-time 20 -o fetched http://10.77.0.2/")
        XCTAssertEqual(c.status, 0, c.output)
        XCTAssertTrue(same("body", "fetched"))
        _ = listener.wait(timeout: 20)
        try stop(server)
    }

    /// The stack in one process over `husk nic serve` in another: ping and
    /// curl work; a killed net server frees the NIC server's port for the next.
    func testTheStackOverANICServerInAnotherProcess() throws {
        try requireTool("/usr/bin/curl", package: "curl")
        try ip(["tuntap", "add", "dev", "hk1", "mode", "tap"])
        try kernelSide("hk1", net: "10.78.0")
        let nicSocket = dir + "/nic.sock"
        let nic = try ChildProcess.huskServer(
            self, ["nic", "serve", "--tap", "hk1", "--socket", nicSocket], dir: dir, tag: "nic", via: inNamespace)
        let args = ["net", "serve", "--nic-socket", nicSocket, "--address", "10.78.0.2/24", "--socket", socket]
        let first = try ChildProcess.huskServer(self, args, dir: dir, tag: "net1", via: inNamespace)
        XCTAssertTrue(first.stdout.contains("stack lwip on hk1 (NIC server \(nicSocket)): 10.78.0.2/24"), first.stdout)
        first.kill9()
        let server = try ChildProcess.huskServer(self, args, dir: dir, tag: "net2", via: inNamespace)
        let ping = try sh("/usr/bin/ping -c 2 -W 5 10.78.0.2")
        XCTAssertEqual(ping.status, 0, ping.output)
        try makeFile("body", bytes: 500_000, seed: 11)
        try makeResponse("response", body: "body")
        let listener = try background("\(husk) net listen --socket \(socket) 8080 < response > /dev/null", tag: "listen")
        XCTAssertTrue(waitUntil(10) { listener.stderr.contains("listening on") }, listener.stderr)
        let c = try sh("/usr/bin/curl -s -S --max-time 20 -o fetched http://10.78.0.2:8080/")
        XCTAssertEqual(c.status, 0, c.output)
        XCTAssertTrue(same("body", "fetched"))
        _ = listener.wait(timeout: 20)
        try stop(server, tap: nil)
        let info = try Husk.run(["nic", "info", "--socket", nicSocket], via: inNamespace)
        XCTAssertTrue(info.stdout.contains("hk1: mac "), info.output)
        XCTAssertEqual(nic.stop(), true)
    }

    /// The stack over the project's virtio_net driver (`--backend sim
    /// --device virtio-net:tap=hk1`: a sim virtio NIC wired to the kernel's
    /// TAP) instead of the tap component, as the VM scenario virtio-net-tcp
    /// runs it over a real (QEMU) device through VFIO: the stack takes the
    /// interface the driver registered, curl fetches through the driver's
    /// queues, and an --interface the driver did not register is named.
    func testTheStackOverTheVirtioNetDriver() throws {
        try requireTool("/usr/bin/curl", package: "curl")
        try ip(["tuntap", "add", "dev", "hk1", "mode", "tap"])
        try kernelSide("hk1", net: "10.78.0")
        let args = ["net", "serve", "--backend", "sim", "--device", "virtio-net:tap=hk1", "--address", "10.78.0.2/24", "--socket", socket]
        let bad = try Husk.run(args + ["--interface", "vnet7"], timeout: 60, via: inNamespace)
        XCTAssertEqual(bad.status, 1, bad.output)
        XCTAssertTrue(bad.stderr.contains("no interface vnet7: the virtio_net driver registered vnet0"), bad.stderr)
        let server = try ChildProcess.huskServer(self, args, dir: dir, tag: "vnet", via: inNamespace)
        XCTAssertTrue(server.stdout.contains("stack lwip on vnet0: 10.78.0.2/24"), server.stdout)
        try makeFile("body", bytes: 500_000, seed: 13)
        try makeResponse("response", body: "body")
        let listener = try background("\(husk) net listen --socket \(socket) 8080 < response > /dev/null", tag: "listen")
        XCTAssertTrue(waitUntil(10) { listener.stderr.contains("listening on") }, listener.stderr)
        let c = try sh("/usr/bin/curl -s -S --max-time 20 -o fetched http://10.78.0.2:8080/")
        XCTAssertEqual(c.status, 0, c.output)
        XCTAssertTrue(same("body", "fetched"))
        XCTAssertEqual(listener.wait(timeout: 20), 0, listener.output)
        try stop(server, tap: nil)
    }

    /// The LD_PRELOAD library (Sources/Servers/NetPreload, built by
    /// scripts/build-net-preload.sh) routes unmodified programs' sockets to
    /// the net server. They run in a second, empty network namespace (only
    /// lo, down), where the kernel can reach nothing: curl fetches 1 MiB
    /// over IPv4 and IPv6 from Python's http.server on the kernel's side
    /// (which logs the stack's addresses as the client), a closed port is
    /// refused, and curl without the library cannot connect at all; then
    /// Python's http.server itself, under the library, serves on the stack
    /// and the kernel's curl fetches from it (bind, listen, accept4, poll);
    /// last, a Python script under the library moves a UDP datagram and a
    /// non-blocking TCP stream with select, os.read and os.write against a
    /// kernel-side echo (sendto, recvfrom, ioctl FIONBIO, read, write), and
    /// socat under the library echoes 1 MiB off the kernel's socat and
    /// receives a UDP datagram (recvmsg with MSG_PEEK|MSG_TRUNC).
    func testUnmodifiedProgramsThroughThePreloadLibrary() throws {
        try requireTool("/usr/bin/curl", package: "curl")
        try requireTool("/usr/bin/python3", package: "python3")
        let so = dir + "/husk-net-preload.so"
        let build = try runTool(Husk.packageRoot.appendingPathComponent("scripts/build-net-preload.sh").path, ["-o", so], timeout: 300)
        XCTAssertEqual(build.status, 0, build.output)
        guard build.status == 0 else { return }
        let client = "huskpc\(getpid())"
        _ = try runTool("/usr/sbin/ip", ["netns", "del", client])
        let add = try runTool("/usr/sbin/ip", ["netns", "add", client])
        XCTAssertEqual(add.status, 0, add.output)
        addTeardownBlock { _ = try? runTool("/usr/sbin/ip", ["netns", "del", client]) }
        let hijacked = "HUSK_NET_SOCKET=\(socket) LD_PRELOAD=\(so)"
        func inClient(_ command: String, timeout: Double = 60) throws -> ToolResult {
            try runTool("/usr/sbin/ip", ["netns", "exec", client, "/bin/sh", "-c", "cd \(dir) && \(command)"], timeout: timeout)
        }
        func launchInClient(_ command: String, tag: String) throws -> ChildProcess {
            let c = try ChildProcess("/usr/sbin/ip", ["netns", "exec", client, "/bin/sh", "-c", "cd \(dir) && exec \(command)"], tag: tag)
            addTeardownBlock { c.kill9() }
            return c
        }
        let server = try serve()
        try makeFile("body", bytes: 1 << 20, seed: 19)
        // The kernel serves; curl in the empty namespace is the client.
        let http4 = try background("/usr/bin/python3 -u -m http.server --bind 10.77.0.1 8000 --directory \(dir)", tag: "http4")
        let http6 = try background("/usr/bin/python3 -u -m http.server --bind fd77::1 8001 --directory \(dir)", tag: "http6")
        XCTAssertTrue(waitUntil(20) { http4.stdout.contains("Serving HTTP") && http6.stdout.contains("Serving HTTP") }, http4.output)
        for (n, url) in ["http://10.77.0.1:8000/body", "http://[fd77::1]:8001/body"].enumerated() {
            let c = try inClient("\(hijacked) /usr/bin/curl -sS --max-time 20 -o fetched\(n) \(url)")
            XCTAssertEqual(c.status, 0, c.output)
            XCTAssertTrue(same("body", "fetched\(n)"), "the bytes curl fetched through the library differ (\(url))")
        }
        XCTAssertTrue(http4.stderr.contains("10.77.0.2 - - ") && http4.stderr.contains("\"GET /body HTTP/1.1\" 200"), http4.stderr)
        XCTAssertTrue(http6.stderr.contains("fd77::2 - - ") && http6.stderr.contains("\"GET /body HTTP/1.1\" 200"), http6.stderr)
        let refused = try inClient("\(hijacked) /usr/bin/curl -sS --max-time 20 -o /dev/null http://10.77.0.1:8009/")
        XCTAssertEqual(refused.status, 7, refused.output)  // CURLE_COULDNT_CONNECT
        let bare = try inClient("/usr/bin/curl -sS --max-time 5 -o /dev/null http://10.77.0.1:8000/body")
        XCTAssertEqual(bare.status, 7, "without the library the empty namespace reaches nothing: \(bare.output)")
        // The program under the library serves; the kernel's curl is the client.
        let hserver = try launchInClient(
            "env \(hijacked) /usr/bin/python3 -u -m http.server --bind 0.0.0.0 8080 --directory \(dir)", tag: "hijacked-http")
        XCTAssertTrue(waitUntil(20) { hserver.stdout.contains("Serving HTTP") }, hserver.output)
        let k = try sh("/usr/bin/curl -sS --max-time 20 -o served http://10.77.0.2:8080/body")
        XCTAssertEqual(k.status, 0, k.output)
        XCTAssertTrue(same("body", "served"), "the bytes the hijacked http.server sent differ")
        XCTAssertTrue(hserver.stderr.contains("10.77.0.1 - - ") && hserver.stderr.contains("\"GET /body HTTP/1.1\" 200"), hserver.stderr)
        hserver.kill9()
        // UDP, select (made a poll), ioctl(FIONBIO), and read/write on a socket, by a Python script
        // under the library against a kernel-side peer that echoes a datagram reversed and a stream.
        let peerScript = """
            import socket
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("10.77.0.1", 7002))
            t = socket.socket()
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind(("10.77.0.1", 7003))
            t.listen(1)
            print("ready", flush=True)
            for _ in range(2):
                d, a = u.recvfrom(100)
                u.sendto(d[::-1], a)
            c, _ = t.accept()
            data = b""
            while len(data) < 100000:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
            c.sendall(data)
            c.close()
            """
        let clientScript = """
            import os, select, socket
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.sendto(b"datagram", ("10.77.0.1", 7002))
            r, _, _ = select.select([u], [], [], 10)
            assert r == [u], r
            d, a = u.recvfrom(100)
            assert d == b"margatad" and a == ("10.77.0.1", 7002), (d, a)
            print("OK udp sendto select recvfrom", flush=True)
            u.sendmsg([b"data", b"gram"], [], 0, ("10.77.0.1", 7002))
            d, anc, flags, a = u.recvmsg(4)
            assert d == b"marg" and flags & socket.MSG_TRUNC and a == ("10.77.0.1", 7002), (d, flags, a)
            print("OK udp sendmsg recvmsg MSG_TRUNC", flush=True)
            t = socket.socket()
            t.connect(("10.77.0.1", 7003))
            t.setblocking(False)
            payload = os.urandom(100000)
            n = 0
            while n < len(payload):
                select.select([], [t], [], 10)
                try:
                    n += os.write(t.fileno(), payload[n:n + 16384])
                except BlockingIOError:
                    pass
            back = b""
            while len(back) < len(payload):
                select.select([t], [], [], 10)
                try:
                    chunk = os.read(t.fileno(), 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                back += chunk
            assert back == payload, len(back)
            t.close()
            print("OK tcp nonblocking write select read", flush=True)
            """
        try peerScript.write(toFile: dir + "/peer.py", atomically: true, encoding: .utf8)
        try clientScript.write(toFile: dir + "/client.py", atomically: true, encoding: .utf8)
        let peer = try background("/usr/bin/python3 -u peer.py", tag: "peer")
        XCTAssertTrue(waitUntil(20) { peer.stdout.contains("ready") }, peer.output)
        let script = try inClient("HUSK_NET_PRELOAD_TRACE=1 \(hijacked) /usr/bin/python3 client.py")
        XCTAssertEqual(script.status, 0, script.output)
        XCTAssertTrue(script.stdout.contains("OK udp sendto select recvfrom"), script.output)
        XCTAssertTrue(script.stdout.contains("OK udp sendmsg recvmsg MSG_TRUNC"), script.output)
        XCTAssertTrue(script.stdout.contains("OK tcp nonblocking write select read"), script.output)
        for call in ["sendto", "recvfrom", "sendmsg", "recvmsg", "ioctl", "write", "read", "poll"] {
            XCTAssertTrue(script.stderr.contains("husk-net-preload: \(call)("), "no \(call) on a Husk socket: \(script.stderr)")
        }
        XCTAssertEqual(peer.wait(timeout: 20), 0, peer.output)
        // socat under the library: its poll mixes the Husk socket with standard input and output.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/socat") {
            let echo = try background("/usr/bin/socat -t 5 TCP4-LISTEN:7004,reuseaddr PIPE", tag: "socat-echo")
            XCTAssertTrue(waitUntil(10) { (try? sh("grep -q ':1B5C 00000000:0000 0A' /proc/net/tcp"))?.status == 0 })
            let so = try inClient("\(hijacked) /usr/bin/socat -t 5 - TCP4:10.77.0.1:7004 < body > echoed")
            XCTAssertEqual(so.status, 0, so.output)
            XCTAssertTrue(same("body", "echoed"), "1 MiB through socat under the library and the kernel's socat echo")
            _ = echo.wait(timeout: 10)
            // socat receiving UDP peeks with MSG_PEEK|MSG_TRUNC through recvmsg for the datagram's size.
            let urecv = try launchInClient(
                "env HUSK_NET_PRELOAD_TRACE=1 \(hijacked) /usr/bin/socat -u UDP4-RECV:7005 - > udp-got", tag: "socat-udp")
            XCTAssertTrue(waitUntil(10) { urecv.stderr.contains("husk-net-preload: poll(") }, urecv.output)
            let usend = try sh("printf 'datagram three' | /usr/bin/socat -u - UDP4-SENDTO:10.77.0.2:7005")
            XCTAssertEqual(usend.status, 0, usend.output)
            let got = { (try? String(contentsOfFile: self.dir + "/udp-got", encoding: .utf8)) ?? "" }
            XCTAssertTrue(waitUntil(10) { got() == "datagram three" }, "socat under the library got '\(got())': \(urecv.output)")
            XCTAssertTrue(urecv.stderr.contains("husk-net-preload: recvmsg("), urecv.stderr)
            urecv.kill9()
        }
        http4.kill9()
        http6.kill9()
        try stop(server)
    }

    /// The BSD-socket C library (husk/net_socket.h) over the generated C
    /// stubs, compiled here with the package's C flags, against the kernel's
    /// own sockets: a 3 MiB stream both ways (shared memory), accept over
    /// IPv6, UDP, ECONNREFUSED, EPIPE with SIGPIPE unless MSG_NOSIGNAL, a
    /// blocked accept interrupted by a signal (EINTR), non-blocking mode and
    /// poll, options and timeouts (net_client_check.c).
    func testTheCSocketLibrary() throws {
        let root = Husk.packageRoot.appendingPathComponent("Sources").path
        var sources: [String] = []
        for folder in ["RPC/ClientC", "RPC/ClientC/generated", "Servers/NetClientC"] {
            sources += try FileManager.default.contentsOfDirectory(atPath: root + "/" + folder).filter { $0.hasSuffix(".c") }
                .map { root + "/" + folder + "/" + $0 }
        }
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/net_client_check.c").path
        let check = dir + "/net_client_check"
        let cc = try runTool(
            cCompiler,
            ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]
                + ["-I", root + "/RPC/ClientC/include", "-I", root + "/RPC/ClientC/generated", "-I", root + "/Servers/NetClientC/include"]
                + sources.sorted() + [fixture, "-o", check, "-lpthread"], timeout: 180)
        XCTAssertEqual(cc.status, 0, "compiling the C library: \(cc.output)")
        guard cc.status == 0 else { return }
        let server = try serve()
        let r = try sh(check + " " + socket, timeout: 120)
        XCTAssertEqual(r.status, 0, r.output)
        for line in [
            "OK stream", "OK accept", "OK udp", "OK refused ECONNREFUSED", "OK epipe EPIPE SIGPIPE", "OK eintr EINTR",
            "OK nonblock EAGAIN poll", "OK options ETIMEDOUT", "ALL OK"
        ] { XCTAssertTrue(r.stdout.contains(line), "missing '\(line)' in:\n\(r.output)") }
        XCTAssertTrue(server.stderr.contains("cancel"), "the interrupted accept was cancelled on the server")
        try stop(server)
    }

    /// A stack file runs a NIC server and a net server over it under
    /// `husk up`; curl fetches through the net server, which the supervisor
    /// restarts after a SIGKILL, and the next fetch works (the dead server
    /// freed its NIC port).
    func testHuskUpRunsANICServerAndANetServerOverIt() throws {
        try requireTool("/usr/bin/curl", package: "curl")
        try ip(["tuntap", "add", "dev", "hk1", "mode", "tap"])
        try kernelSide("hk1", net: "10.78.0")
        let config = "\(dir)/stack.toml"
        let text = """
            [stack]
            name = "net\(getpid())"
            state_dir = "\(dir)/state"

            [server.nic]
            kind = "nic"
            socket = "\(dir)/nic.sock"
            args = ["--tap", "hk1"]

            [server.net]
            kind = "net"
            socket = "\(socket)"
            args = ["--nic-socket", "\(dir)/nic.sock", "--address", "10.78.0.2/24"]

            """
        XCTAssertTrue(FileManager.default.createFile(atPath: config, contents: Data(text.utf8)))
        let up = try ChildProcess(inNamespace[0], Array(inNamespace.dropFirst()) + [husk, "up", "--config", config], dir: dir, tag: "up")
        addTeardownBlock { up.kill9() }
        try makeFile("body", bytes: 200_000, seed: 13)
        try makeResponse("response", body: "body")
        func fetch(_ n: Int) throws {
            var listener: ChildProcess?
            XCTAssertTrue(
                try waitUntil(30) {
                    listener?.kill9()
                    let l = try background("\(husk) net listen --socket \(socket) 8080 < response > /dev/null", tag: "listen\(n)")
                    listener = l
                    return waitUntil(2) { l.stderr.contains("listening on") }
                }, (listener?.stderr ?? "") + up.stderr)
            let c = try sh("/usr/bin/curl -s -S --max-time 20 -o fetched\(n) http://10.78.0.2:8080/")
            XCTAssertEqual(c.status, 0, c.output + up.stderr)
            XCTAssertTrue(same("body", "fetched\(n)"))
            _ = listener?.wait(timeout: 20)
        }
        try fetch(1)
        guard let line = up.stderr.split(separator: "\n").first(where: { $0.contains("server net started (pid ") }),
            let pid = Int32(line.split(separator: "(pid ")[1].prefix { $0.isNumber })
        else { throw TestFailure("no start line: \(up.stderr)") }
        kill(pid, SIGKILL)
        guard waitUntil(20, { up.stderr.components(separatedBy: "server net started").count > 2 }) else {
            throw TestFailure("the net server was not restarted: \(up.stderr)")
        }
        try fetch(2)
        kill(up.pid, SIGTERM)
        XCTAssertEqual(up.wait(timeout: 30), 0, up.stderr)
        XCTAssertFalse(up.stderr.contains("EBUSY"), up.stderr)
    }

    func testMistakesAreClearErrors() throws {
        let none = try Husk.run(["net", "serve", "--address", "10.0.0.2/24", "--socket", socket], timeout: 30)
        XCTAssertEqual(none.status, 64, none.output)
        XCTAssertTrue(none.stderr.contains("give exactly one of --tap NAME, --nic-socket PATH"), none.stderr)
        let noAddress = try Husk.run(["net", "serve", "--tap", "hk9", "--socket", socket], timeout: 30)
        XCTAssertTrue(noAddress.stderr.contains("--address CIDR and/or --address6"), noAddress.stderr)
        let badAddress = try Husk.run(
            ["net", "serve", "--tap", "hk9", "--address", "10.0.0.2", "--socket", socket], timeout: 30, via: inNamespace)
        XCTAssertEqual(badAddress.status, 1, badAddress.output)
        XCTAssertTrue(badAddress.stderr.contains("is not an IPv4 address with a prefix length"), badAddress.stderr)
        let noServer = try Husk.run(["net", "serve", "--nic-socket", dir + "/none.sock", "--address", "10.0.0.2/24", "--socket", socket])
        XCTAssertEqual(noServer.status, 1, noServer.output)
        XCTAssertTrue(noServer.stderr.contains("cannot connect to the NIC server at"), noServer.stderr)
        let noNet = try Husk.run(["net", "connect", "--socket", dir + "/none.sock", "10.0.0.1", "80"])
        XCTAssertEqual(noNet.status, 1, noNet.output)
        XCTAssertTrue(noNet.stderr.contains("cannot reach the net server at"), noNet.stderr)
        let badHost = try Husk.run(["net", "connect", "--socket", socket, "example.org", "80"])
        XCTAssertTrue(badHost.stderr.contains("'example.org' is not an IPv4 or IPv6 address"), badHost.stderr)
    }
}

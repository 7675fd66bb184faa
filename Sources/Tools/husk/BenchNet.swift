import ArgumentParser
import Glibc
import NICBenchC
import Platform

/// `husk bench net`: the host kernel's TCP against the Husk stack (lwIP over
/// a TAP, its sockets through the net RPC) and, as the baseline, against the
/// kernel itself over a veth pair, in one run. Figures and names:
/// docs/BENCHMARKS.md.
struct BenchNet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net",
        abstract: "The Husk stack over a TAP (through the net server) against the kernel over a veth pair, side by side.",
        discussion: """
            The bench moves into a network namespace of its own (so it needs root; nothing it creates \
            outlives it). Two peers run the same four servers: `husk net serve --tap hkb0` (10.99.0.2) with \
            `husk bench net-peer --husk` driving its sockets through the net RPC, and the kernel at \
            10.98.0.2 in a namespace of its own behind a veth pair (`husk bench net-peer --kernel`). This \
            process is the client, with the kernel's sockets: TCP stream to the peer (tcp_send) and from it \
            (tcp_recv), 1-byte request/response (rr1: round trips per second and the median latency), and \
            connections per second (connect, the peer's byte, close; the client closes first, so \
            TIME_WAIT stays on the kernel's side: lwIP does not reuse a port pair it holds in TIME_WAIT). Every figure is \
            also printed as `BENCH <name> <value> <unit>`.
            """)
    @Option(help: "Seconds per measurement.") var seconds: Double = 1

    static let cases = ["tcp_send", "tcp_recv", "rr1", "rr1_p50", "connect"]

    func validate() throws {
        guard seconds >= 0.1, seconds <= 600 else { throw ValidationError("--seconds must be 0.1...600") }
    }

    func run() throws {
        guard access("/dev/net/tun", R_OK | W_OK) == 0 else {
            printError("husk bench net: /dev/net/tun is not usable (no TUN/TAP support, or not root)")
            throw ExitCode(2)
        }
        guard nicbench_private_netns() == 0 else {
            printError(
                "husk bench net: cannot make a network namespace (unshare CLONE_NEWNET: \(String(cString: strerror(errno)))); run as root")
            throw ExitCode(2)
        }
        // The client closes first in the connection-rate case: let it reuse
        // its ports in TIME_WAIT (this namespace only), or a long run of the
        // fast veth baseline exhausts them.
        _ = writeTextFile("/proc/sys/net/ipv4/tcp_tw_reuse", "1\n")
        let dir = try makeScratchDirectory(prefix: "husk-bench-net")
        defer { _ = removeScratchDirectory(dir) }
        let ip = "/usr/sbin/ip"
        for args in [
            ["link", "set", "lo", "up"], ["tuntap", "add", "dev", "hkb0", "mode", "tap"], ["addr", "add", "10.99.0.1/24", "dev", "hkb0"],
            ["link", "set", "hkb0", "up"], ["link", "add", "hkv0", "type", "veth", "peer", "name", "hkv1"],
            ["addr", "add", "10.98.0.1/24", "dev", "hkv0"], ["link", "set", "hkv0", "up"]
        ] {
            guard runQuietly(ip, args) == 0 else {
                printError("husk bench net: ip \(args.joined(separator: " ")) failed (Debian package iproute2)")
                throw ExitCode(2)
            }
        }
        print("bench net: the kernel against lwIP over TAP hkb0 (net RPC) and against itself over veth hkv0, \(seconds) s per measurement")
        progress("starting husk net serve and the peers")
        let server = try ChildServer(
            arguments: ["net", "serve", "--tap", "hkb0", "--address", "10.99.0.2/24", "--socket", dir + "/net.sock"],
            socket: dir + "/net.sock", logPath: dir + "/server.log")
        defer { server.stop() }
        let huskPeer = try BenchChild(["bench", "net-peer", "--husk", dir + "/net.sock"], log: dir + "/husk-peer.log")
        defer { huskPeer.stop() }
        try huskPeer.waitFor("ready")
        let kernelPeer = try BenchChild(["bench", "net-peer", "--kernel"], log: dir + "/kernel-peer.log")
        defer { kernelPeer.stop() }
        try kernelPeer.waitFor("netns-ready")
        guard runQuietly(ip, ["link", "set", "hkv1", "netns", "\(kernelPeer.pid)"]) == 0 else {
            printError("husk bench net: cannot move hkv1 into the peer's namespace")
            throw ExitCode(2)
        }
        try kernelPeer.waitFor("ready")

        var results: [String: [String: Double]] = [:]  // path -> case -> value
        do { try measure(into: &results) } catch {
            // What the peers and the server said is gone with the scratch directory: show it.
            for log in ["server.log", "husk-peer.log", "kernel-peer.log"] {
                let tail = readTextFile(dir + "/" + log).split(separator: "\n").suffix(15).joined(separator: "\n")
                printError("--- \(log):\n\(tail)")
            }
            throw BenchFailure("\(error)", bench: "net")
        }
        printTable(results)
    }

    private func measure(into results: inout [String: [String: Double]]) throws {
        for (path, host) in [("veth", BenchNetPeer.address.kernel), ("husk", BenchNetPeer.address.husk)] {
            let client = BenchNetClient(host: host, seconds: seconds)
            progress("\(path): tcp_send")
            results[path, default: [:]]["tcp_send"] = try client.streamTo(port: 5001)
            progress("\(path): tcp_recv")
            results[path, default: [:]]["tcp_recv"] = try client.streamFrom(port: 5002)
            progress("\(path): rr1")
            let rr = try client.requestResponse(port: 5003)
            results[path, default: [:]]["rr1"] = rr.rate
            results[path, default: [:]]["rr1_p50"] = rr.p50
            progress("\(path): connect")
            results[path, default: [:]]["connect"] = try client.connections(port: 5004)
        }
    }

    private func printTable(_ r: [String: [String: Double]]) {
        let units = ["tcp_send": "MB/s", "tcp_recv": "MB/s", "rr1": "rt/s", "rr1_p50": "us", "connect": "conn/s"]
        var rows: [[String]] = []
        var bench: [String] = []
        for c in Self.cases {
            guard let v = r["veth"]?[c], let h = r["husk"]?[c] else { continue }
            // A ratio where higher is better for the Husk stack: a latency ratio is veth/husk.
            let ratio = c == "rr1_p50" ? (h > 0 ? v / h : 0) : (v > 0 ? h / v : 0)
            rows.append([c, format(v), format(h), units[c]!, String(format2: ratio) + "x"])
            bench.append("BENCH net.\(c).veth \(format(v)) \(units[c]!)")
            bench.append("BENCH net.\(c).husk \(format(h)) \(units[c]!)")
            bench.append("BENCH net.\(c).vs_veth \(String(format2: ratio)) x")
        }
        let header = ["case", "kernel-veth", "husk-tap", "unit", "husk vs veth"]
        let all = [header] + rows
        let widths = (0..<header.count).map { i in all.map { $0[i].count }.max() ?? 0 }
        for (k, row) in all.enumerated() {
            print(row.enumerated().map { i, v in v.padded(widths[i]) }.joined(separator: "  "))
            if k == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        for line in bench { print(line) }
    }

    private func format(_ v: Double) -> String { v >= 100 ? String(Int(v.rounded())) : String(format2: v) }

    private func progress(_ what: String) {
        var e = StandardError()
        Swift.print("bench net: \(what)", to: &e)
    }
}

/// A child `husk` whose output goes to a log the bench watches for a word.
final class BenchChild {
    let pid: pid_t
    let log: String
    private var reaped = false

    init(_ arguments: [String], log: String) throws {
        let exe = try selfExecutable()
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&fa, 1, 2)
        var cargs: [UnsafeMutablePointer<CChar>?] = (["husk"] + arguments).map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var child: pid_t = 0
        guard posix_spawn(&child, exe, &fa, nil, &cargs, environ) == 0 else { throw BenchFailure("cannot start \(exe)") }
        pid = child
        self.log = log
    }

    func waitFor(_ word: String, timeout: Double = 30) throws {
        let deadline = monotonicSeconds() + timeout
        while true {
            let text = readTextFile(log)
            if text.split(separator: "\n").contains(where: { $0 == word }) { return }
            var st: Int32 = 0
            if waitpid(pid, &st, WNOHANG) == pid {
                reaped = true
                throw BenchFailure("\(log): the peer exited: \(text)")
            }
            if monotonicSeconds() > deadline { throw BenchFailure("\(log): no '\(word)' within \(Int(timeout)) s: \(text)") }
            usleep(20_000)
        }
    }

    func stop() {
        guard !reaped else { return }
        kill(pid, SIGKILL)
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        reaped = true
    }
}

/// Write `text` to an existing file (a /proc/sys knob); false if it cannot.
func writeTextFile(_ path: String, _ text: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return text.withCString { write(fd, $0, strlen($0)) } == text.utf8.count
}

/// A small text file's contents ("" if it cannot be read).
func readTextFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        bytes += buf[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

import ArgumentParser
import Glibc
import Platform
import RPCBenchC
import RPCClient
import RPCEcho
import RPCTransport

/// `husk bench rpc`: the native RPC path against a raw SEQPACKET ping-pong
/// measured in the same run. Figures and names: docs/BENCHMARKS.md.
struct BenchRPC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Native RPC (C and Swift clients) against a raw SEQPACKET ping-pong, side by side.",
        discussion: """
            Starts `husk echo serve` as a separate process per placement (stopped at the end) and a forked \
            C echo child for the raw ping-pong. Latency cases run in two placements: both processes pinned \
            to one core (samecore) and to different cores (crosscore), pinned with sched_setaffinity before \
            the processes and their threads are created. Cases, alternated in --rounds rounds so that drift \
            affects all alike: raw 40-byte ping-pong (the size of an RPC header) against echo.ping through \
            the generated C client and through the Swift client (p50/p99, ratio of p50s); raw 4 KiB and \
            64 KiB ping-pongs against echo.echo of 4 KiB and 64 KiB; 1 MiB copied into registered shared \
            memory + echo.checksum against echo.echo of 1 MiB inline (fragmented). Then 64 clients \
            (threads, one connection each, unpinned) x --concurrent-calls echo.ping calls: p50/p99 and errors. \
            Ring cases (`rpc.ring.*`, docs/protocol.md §11) run the same C and Swift clients over the \
            shared-memory call rings in the same rounds: echo.ping back to back (p50/p99, ratio against the \
            socket), the 1 MiB shared memory checksum; then, per placement and path, a fresh server with one \
            C client: its CPU time over --idle-seconds idle (all its threads, /proc/PID/task/*/schedstat), \
            and echo.ping after 1 s idle (--idle-samples times, the median). \
            Every figure is also printed as `BENCH <name> <value> <unit>`; names in docs/BENCHMARKS.md.
            """)

    @Flag(help: "Small counts (for tests); the figures are not meaningful.") var quick = false
    @Option(help: "Round trips per latency case (default 20000, --quick 500).") var calls: Int?
    @Option(help: "Calls per client in the concurrency case (default 10000, --quick 100).") var concurrentCalls: Int?
    @Option(help: "Concurrent clients.") var clients: Int = 64
    @Option(help: "Rounds the cases alternate in.") var rounds: Int = 5
    @Option(help: "First calls after 1 s idle per placement and path (default 9, --quick 1).") var idleSamples: Int?
    @Option(help: "Idle window over which the server's CPU time is measured.") var idleSeconds: Double = 2

    func validate() throws {
        if let calls, calls < rounds { throw ValidationError("--calls must be at least --rounds") }
        if let concurrentCalls, concurrentCalls < 1 { throw ValidationError("--concurrent-calls must be >= 1") }
        guard clients >= 1 && clients <= 1024 else { throw ValidationError("--clients must be 1...1024") }
        guard rounds >= 1 && rounds <= 100 else { throw ValidationError("--rounds must be 1...100") }
        if let idleSamples, idleSamples < 1 { throw ValidationError("--idle-samples must be >= 1") }
        guard idleSeconds > 0 && idleSeconds <= 60 else { throw ValidationError("--idle-seconds must be in (0, 60]") }
    }

    func run() throws {
        let n = calls ?? (quick ? 500 : 20_000)
        let big = max(rounds, quick ? 10 : 200)  // 1 MiB calls
        let mid = max(rounds, n / 4)  // 4 KiB / 64 KiB calls
        let conc = concurrentCalls ?? (quick ? 100 : 10_000)
        let dir = try makeScratchDirectory(prefix: "husk-bench")
        defer { removeScratchDirectory(dir) }
        var out = RPCBenchOutput()
        let cpus = Int(rpcbench_cpu_count())
        if cpus < 2 { printErr("husk bench rpc: only \(cpus) CPU available; crosscore runs on the same core") }
        let placements: [(name: String, server: Int32, client: Int32)] =
            [("samecore", 0, 0), ("crosscore", cpus >= 2 ? 1 : 0, 0)]
        for p in placements {
            try runPlacement(
                p.name, serverCPU: p.server, clientCPU: p.client, dir: dir,
                n: n, mid: mid, big: big, out: &out)
        }
        for p in placements {
            try runIdle(p.name, serverCPU: p.server, clientCPU: p.client, dir: dir, samples: idleSamples ?? (quick ? 1 : 9), out: &out)
        }
        _ = rpcbench_pin_self(-1)
        try runConcurrent(dir: dir, calls: conc, out: &out)
        out.print()
    }

    // MARK: cases

    private func runPlacement(
        _ place: String, serverCPU: Int32, clientCPU: Int32, dir: String,
        n: Int, mid: Int, big: Int, out: inout RPCBenchOutput
    ) throws {
        // Children inherit the CPU mask of the thread that creates them.
        try check(rpcbench_pin_self(serverCPU), "sched_setaffinity")
        var rawFD: Int32 = -1
        let rawPID = rpcbench_raw_start(&rawFD)
        guard rawPID > 0 else { throw BenchFailure("fork raw ping-pong child: errno \(-rawPID)") }
        defer { rpcbench_raw_stop(rawPID, rawFD) }
        let socket = "\(dir)/echo-\(place).sock"
        let server = try startEchoServer(socket: socket, name: "bench-\(place)")
        defer { server.stop() }
        try check(rpcbench_pin_self(clientCPU), "sched_setaffinity")

        var conn: OpaquePointer?
        try check(rpcbench_connect(socket, 10_000, &conn), "connect (C client) to \(socket)")
        defer { rpcbench_close(conn) }
        // The Swift client's reader thread inherits this thread's mask.
        let swift: EchoSession
        do { swift = try EchoSession.connect(path: socket) } catch { throw BenchFailure("connect (Swift client): \(error)") }
        defer { swift.rpc.close() }
        var shmStatus: Int32 = 0
        let shm = rpcbench_shm_create(conn, 1 << 20, &shmStatus)
        try check(shmStatus, "register 1 MiB of shared memory")
        defer { rpcbench_shm_release(conn, shm) }
        // The same clients over the call rings.
        var ringConn: OpaquePointer?
        try check(rpcbench_connect_ring(socket, 10_000, &ringConn), "connect (C client, rings) to \(socket)")
        defer { rpcbench_close(ringConn) }
        let swiftRing: EchoSession
        do {
            swiftRing = EchoSession(try RPCClient.connect(path: socket, require: [(EchoHandler.id, EchoHandler.version)], ring: true))
        } catch {
            throw BenchFailure("connect (Swift client, rings): \(error)")
        }
        defer { swiftRing.rpc.close() }
        guard swiftRing.rpc.server.ringActive else { throw BenchFailure("the server did not set up the call rings for the Swift client") }
        let ringShm = rpcbench_shm_create(ringConn, 1 << 20, &shmStatus)
        try check(shmStatus, "register 1 MiB of shared memory (rings)")
        defer { rpcbench_shm_release(ringConn, ringShm) }

        var lat: [String: [UInt64]] = [:]
        func c(_ key: String, _ count: Int, _ body: (UnsafeMutablePointer<UInt64>) -> Int32) throws {
            var buf = [UInt64](repeating: 0, count: count)
            let r = buf.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
            try check(r, "\(key) (\(place))")
            lat[key, default: []] += buf
        }
        func swiftPings(_ count: Int, _ session: EchoSession, _ key: String) throws {
            var buf = [UInt64](repeating: 0, count: count)
            for i in 0..<count {
                let t0 = monotonicNanos()
                do { try session.ping() } catch { throw BenchFailure("Swift ping (\(key), \(place)): \(error)") }
                buf[i] = monotonicNanos() - t0
            }
            lat[key, default: []] += buf
        }
        func round(_ n: Int, _ mid: Int, _ big: Int) throws {
            try c("raw", n) { rpcbench_raw_run(rawFD, 40, UInt64(n), $0) }
            try c("null.c", n) { rpcbench_c_ping(conn, UInt64(n), $0) }
            try swiftPings(n, swift, "null.swift")
            try c("ring.null.c", n) { rpcbench_c_ping(ringConn, UInt64(n), $0) }
            try swiftPings(n, swiftRing, "ring.null.swift")
            try c("raw_4k", mid) { rpcbench_raw_run(rawFD, 4096, UInt64(mid), $0) }
            try c("echo_4k", mid) { rpcbench_c_echo(conn, 4096, UInt64(mid), $0) }
            try c("raw_64k", mid) { rpcbench_raw_run(rawFD, 65536, UInt64(mid), $0) }
            try c("echo_64k", mid) { rpcbench_c_echo(conn, 65536, UInt64(mid), $0) }
            try c("shm_1m", big) { rpcbench_c_shm_checksum(conn, shm, 1 << 20, UInt64(big), $0) }
            try c("inline_1m", big) { rpcbench_c_echo(conn, 1 << 20, UInt64(big), $0) }
            try c("ring.shm_1m", big) { rpcbench_c_shm_checksum(ringConn, ringShm, 1 << 20, UInt64(big), $0) }
        }
        // Warm-up: threads, page faults, caches; then discard.
        try round(max(1, n / 20), max(1, mid / 20), 2)
        lat = [:]
        for _ in 0..<rounds { try round(n / rounds, mid / rounds, max(1, big / rounds)) }

        let s = { (k: String) in Stats(lat[k]!) }
        let raw = s("raw"), nullC = s("null.c"), nullS = s("null.swift")
        out.latency("rpc.raw", place, "raw SEQPACKET ping-pong, 40 B (C, 2 processes)", raw)
        out.latency("rpc.null.c", place, "echo.ping, generated C client", nullC, vs: raw, vsName: "raw", target: "≤ 1.25x")
        out.latency("rpc.null.swift", place, "echo.ping, Swift client", nullS, vs: raw, vsName: "raw", target: "≤ 1.25x")
        let raw4 = s("raw_4k"), raw64 = s("raw_64k")
        out.latency("rpc.raw_4k", place, "raw ping-pong, 4 KiB", raw4)
        out.latency("rpc.echo_4k", place, "echo.echo 4 KiB inline, C client", s("echo_4k"), vs: raw4, vsName: "raw")
        out.latency("rpc.raw_64k", place, "raw ping-pong, 64 KiB", raw64)
        out.latency("rpc.echo_64k", place, "echo.echo 64 KiB inline, C client", s("echo_64k"), vs: raw64, vsName: "raw")
        let inline = s("inline_1m")
        out.latency("rpc.inline_1m", place, "echo.echo 1 MiB inline (fragmented), C client", inline)
        let shm1m = s("shm_1m")
        out.latency(
            "rpc.shm_1m", place, "1 MiB memcpy into shm + echo.checksum, C client", shm1m,
            vs: inline, vsName: "inline", target: "≤ 0.5x")
        out.latency(
            "rpc.ring.null.c", place, "echo.ping over the call rings, C client", s("ring.null.c"), vs: nullC, vsName: "socket",
            target: place == "crosscore" ? "p50 ≤ 1 us" : "")
        out.latency(
            "rpc.ring.null.swift", place, "echo.ping over the call rings, Swift client", s("ring.null.swift"), vs: nullS, vsName: "socket")
        out.latency(
            "rpc.ring.shm_1m", place, "1 MiB memcpy into shm + echo.checksum over the rings, C client", s("ring.shm_1m"), vs: shm1m,
            vsName: "socket")
    }

    /// Per path (socket, rings): a fresh server and one C client: the
    /// server's CPU time while the connection is idle, then the first call
    /// after 1 s idle.
    private func runIdle(_ place: String, serverCPU: Int32, clientCPU: Int32, dir: String, samples: Int, out: inout RPCBenchOutput) throws {
        var first: [String: Stats] = [:]
        for ring in [false, true] {
            let name = ring ? "ring" : "socket"
            try check(rpcbench_pin_self(serverCPU), "sched_setaffinity")
            let socket = "\(dir)/echo-idle-\(name)-\(place).sock"
            let server = try startEchoServer(socket: socket, name: "bench-idle-\(name)-\(place)")
            defer { server.stop() }
            try check(rpcbench_pin_self(clientCPU), "sched_setaffinity")
            var conn: OpaquePointer?
            try check(
                ring ? rpcbench_connect_ring(socket, 10_000, &conn) : rpcbench_connect(socket, 10_000, &conn),
                "connect (C client, \(name)) to \(socket)")
            defer { rpcbench_close(conn) }
            var warm = [UInt64](repeating: 0, count: 1000)
            try check(rpcbench_c_ping(conn, 1000, &warm), "warm-up pings (\(name), \(place))")
            // Let the server's spin end (at most 50 us) before the window.
            usleep(10_000)
            let cpu0 = rpcbench_process_cpu_ns(server.pid)
            let t0 = monotonicNanos()
            usleep(UInt32(idleSeconds * 1e6))
            let cpu1 = rpcbench_process_cpu_ns(server.pid)
            let share = Double(cpu1 &- cpu0) / Double(monotonicNanos() - t0) * 100
            out.value(
                ring ? "rpc.ring.idle_cpu.\(place)" : "rpc.idle_cpu.\(place)", place,
                "server CPU over \(idleSeconds) s idle, one C client (\(name))", share, unit: "%",
                target: ring ? "≤ 1%" : "")
            var lat: [UInt64] = []
            for _ in 0..<samples {
                usleep(1_000_000)
                var one: UInt64 = 0
                try check(rpcbench_c_ping(conn, 1, &one), "ping after idle (\(name), \(place))")
                lat.append(one)
            }
            first[name] = Stats(lat)
        }
        out.value("rpc.idle_first.c.\(place)", place, "echo.ping after 1 s idle, C client, median", first["socket"]!.p50, unit: "us")
        let r = first["ring"]!.p50, sck = first["socket"]!.p50
        out.value(
            "rpc.ring.idle_first.c.\(place)", place, "echo.ping after 1 s idle over the rings, C client, median", r, unit: "us")
        out.value(
            "rpc.ring.idle_first.c.vs_socket.\(place)", place, "first call after idle: rings / socket", sck > 0 ? r / sck : 0, unit: "x",
            target: "≤ 1x")
    }

    private func runConcurrent(dir: String, calls: Int, out: inout RPCBenchOutput) throws {
        let socket = "\(dir)/echo-concurrent.sock"
        let server = try startEchoServer(socket: socket, name: "bench-concurrent")
        defer { server.stop() }
        var probe: OpaquePointer?
        try check(rpcbench_connect(socket, 10_000, &probe), "connect to \(socket)")
        rpcbench_close(probe)
        var lat = [UInt64](repeating: 0, count: clients * calls)
        var errors: UInt64 = 0
        let t0 = monotonicNanos()
        let r = lat.withUnsafeMutableBufferPointer {
            rpcbench_c_concurrent(socket, UInt32(clients), UInt64(calls), $0.baseAddress!, &errors)
        }
        let elapsed = Double(monotonicNanos() - t0) / 1e9
        try check(r, "start \(clients) client threads")
        out.concurrent(
            clients: clients, calls: calls, stats: Stats(lat), errors: errors,
            rate: Double(clients * calls) / elapsed)
    }

    // MARK: helpers

    /// `husk echo serve` as a child (it inherits this thread's CPU mask).
    private func startEchoServer(socket: String, name: String) throws -> ChildServer {
        do { return try ChildServer(arguments: ["echo", "serve", "--socket", socket, "--name", name], socket: socket) } catch {
            throw BenchFailure("cannot start husk echo serve: \(error)")
        }
    }

    private func check(_ status: Int32, _ what: String) throws {
        if status != 0 { throw BenchFailure("\(what): \(String(cString: rpcbench_status_name(status)))") }
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    /// `d` after "husk bench <what>: ".
    init(_ d: String, bench: String = "rpc") { description = "husk bench \(bench): " + d }
}

private func printErr(_ s: String) {
    let line = s + "\n"
    _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
}

/// p50/p99 of per-call latencies in ns.
struct Stats {
    let p50: Double, p99: Double
    init(_ ns: [UInt64]) {
        let s = ns.sorted()
        func q(_ f: Double) -> Double { s.isEmpty ? 0 : Double(s[min(s.count - 1, Int(Double(s.count) * f))]) / 1000 }
        p50 = q(0.50)
        p99 = q(0.99)
    }
}

/// The table and the BENCH lines (docs/BENCHMARKS.md names every line).
struct RPCBenchOutput {
    private var table: [[String]] = []
    private var bench: [String] = []

    private static func f(_ x: Double) -> String {
        x >= 100 ? String(Int(x.rounded())) : String((x * 100).rounded() / 100)
    }

    mutating func latency(
        _ name: String, _ place: String, _ what: String, _ s: Stats,
        vs base: Stats? = nil, vsName: String = "", target: String = ""
    ) {
        let f = Self.f
        let ratio = base.map { $0.p50 > 0 ? s.p50 / $0.p50 : 0 }
        table.append([
            name, place, what, f(s.p50), f(s.p99), base.map { f($0.p50) } ?? "",
            ratio.map { f($0) + "x" } ?? "", target
        ])
        bench.append("BENCH \(name).p50.\(place) \(f(s.p50)) us")
        bench.append("BENCH \(name).p99.\(place) \(f(s.p99)) us")
        if let ratio { bench.append("BENCH \(name).vs_\(vsName).\(place) \(f(ratio)) x") }
    }

    /// One figure: a table row and `BENCH name value unit`.
    mutating func value(_ name: String, _ place: String, _ what: String, _ v: Double, unit: String, target: String = "") {
        let f = Self.f
        let shown = unit == "%" ? String((v * 1000).rounded() / 1000) : f(v)
        table.append([name, place, what, unit == "us" ? shown : "", "", "", unit == "us" ? "" : shown + unit, target])
        bench.append("BENCH \(name) \(shown) \(unit)")
    }

    mutating func concurrent(clients: Int, calls: Int, stats s: Stats, errors: UInt64, rate: Double) {
        let f = Self.f
        table.append([
            "rpc.concurrent", "unpinned", "\(clients) clients x \(calls) echo.ping, C client",
            f(s.p50), f(s.p99), "", "", "0 errors: \(errors)"
        ])
        bench.append("BENCH rpc.concurrent.p50 \(f(s.p50)) us")
        bench.append("BENCH rpc.concurrent.p99 \(f(s.p99)) us")
        bench.append("BENCH rpc.concurrent.calls \(clients * calls) calls")
        bench.append("BENCH rpc.concurrent.errors \(errors) calls")
        bench.append("BENCH rpc.concurrent.rate \(Int(rate.rounded())) calls/s")
    }

    func print() {
        let header = ["case", "placement", "what", "p50 us", "p99 us", "baseline p50 us", "ratio p50", "target"]
        let widths = (0..<header.count).map { i in ([header] + table).map { $0[i].count }.max()! }
        for line in [header] + table {
            Swift.print(line.enumerated().map { $0.element.padded(widths[$0.offset]) }.joined(separator: "  "))
        }
        for b in bench { Swift.print(b) }
    }
}

import ArgumentParser
import HuskHost
import HypBench
import HypercallABI
import Hypercalls
import SimBackend

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that compare Husk against a baseline measured in the same run.",
        subcommands: [BenchHyp.self, BenchRPC.self, BenchBlk.self, BenchNIC.self, BenchNet.self, BenchNetPeer.self, BenchFS.self])
}

struct BenchHyp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hyp",
        abstract: "The hypercall table against pthreads/libc directly, side by side.",
        discussion: """
            Each case runs the same C loop through the hypercall table and directly, alternating, \
            `--runs` times, and reports the median ns per operation and the ratio (table / direct). \
            Cases: uncontended mutex lock+unlock (baseline PTHREAD_MUTEX_ERRORCHECK), condition-variable \
            ping-pong between two threads (ns per round trip), thread create+join, and 4 KiB DMA \
            alloc+free on the sim backend (baseline mmap+munmap of a page). Besides the table, every \
            figure is printed as `BENCH <name> <value> <unit>`.
            """)

    @Option(help: "Runs per case; the median is reported.") var runs: Int = 5
    @Option(help: "Scale the iteration counts (1 = default).") var scale: Double = 1

    func validate() throws {
        guard runs >= 1, runs <= 101 else { throw ValidationError("--runs must be 1...101") }
        guard scale > 0, scale <= 100 else { throw ValidationError("--scale must be in (0, 100]") }
    }

    func run() throws {
        func n(_ base: Double) -> UInt64 { UInt64(max(1, base * scale)) }
        var rows: [BenchRow] = []
        try onHost(PosixBackend()) { hyp, ctx in
            rows.append(
                measure(
                    "hyp.mutex", "uncontended lock+unlock", runs: runs,
                    table: { hypbench_mutex_hyp(hyp, ctx, n(2_000_000)) },
                    direct: { hypbench_mutex_pthread(n(2_000_000)) }))
            rows.append(
                measure(
                    "hyp.condvar", "ping-pong round trip", runs: runs,
                    table: { hypbench_condvar_hyp(hyp, ctx, n(20_000)) },
                    direct: { hypbench_condvar_pthread(n(20_000)) }))
            rows.append(
                measure(
                    "hyp.thread", "create+join", runs: runs,
                    table: { hypbench_thread_hyp(hyp, ctx, n(2_000)) },
                    direct: { hypbench_thread_pthread(n(2_000)) }))
        }
        try onHost(try SimBackend(specs: [])) { hyp, ctx in
            rows.append(
                measure(
                    "hyp.dma_sim", "4 KiB alloc+free (sim IOMMU)", runs: runs,
                    table: { hypbench_dma_hyp(hyp, ctx, n(50_000)) },
                    direct: { hypbench_mmap_baseline(n(50_000)) }))
        }
        BenchRow.printTable(rows, baselineName: "direct")
    }
}

/// Run `body` as a component named "bench" on a fresh host over `backend`.
func onHost(_ backend: any HostBackend, _ body: (UnsafePointer<husk_hyp>, OpaquePointer) throws -> Void) throws {
    let host = HypercallHost(backend: backend)
    host.activate()
    defer { host.shutdown() }
    let ctx = ComponentContext(name: "bench")
    defer { ctx.retire() }
    try HypercallThreads.acting(as: ctx.pointer) { try body(UnsafePointer(host.table), ctx.pointer) }
}

/// Run table and direct alternately so that drift affects both alike.
func measure(_ name: String, _ what: String, runs: Int, table: () -> Double, direct: () -> Double) -> BenchRow {
    var t: [Double] = []
    var d: [Double] = []
    _ = table()
    _ = direct()  // warm-up: page faults, thread stacks, caches
    for _ in 0..<runs {
        t.append(table())
        d.append(direct())
    }
    return BenchRow(name: name, what: what, value: median(t), baseline: median(d), unit: "ns")
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

struct BenchRow {
    var name: String
    var what: String
    var value: Double
    var baseline: Double
    var unit: String
    var ratio: Double { baseline > 0 ? value / baseline : 0 }

    static func printTable(_ rows: [BenchRow], baselineName: String) {
        func f(_ x: Double) -> String { x >= 100 ? String(Int(x.rounded())) : String((x * 100).rounded() / 100) }
        let header = ["case", "what", "husk \(rows.first?.unit ?? "")", "\(baselineName) \(rows.first?.unit ?? "")", "ratio"]
        let table = rows.map { [$0.name, $0.what, f($0.value), f($0.baseline), f($0.ratio) + "x"] }
        let widths = (0..<header.count).map { i in ([header] + table).map { $0[i].count }.max()! }
        for line in [header] + table {
            print(line.enumerated().map { $0.element.padded(widths[$0.offset]) }.joined(separator: "  "))
        }
        for r in rows {
            print("BENCH \(r.name) \(f(r.value)) \(r.unit)")
            print("BENCH \(r.name).\(baselineName) \(f(r.baseline)) \(r.unit)")
            print("BENCH \(r.name).vs_\(baselineName) \(f(r.ratio)) x")
        }
    }
}

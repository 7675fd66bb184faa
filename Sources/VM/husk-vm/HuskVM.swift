import ArgumentParser
import Glibc
import Platform
import Synchronization
import VMHost

/// `husk-vm`: the host side of `husk vm` (libvirt-linked, so kept out of
/// husk itself; `husk vm test ...` runs this). docs/vm.md.
@main
struct HuskVM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "husk vm",
        abstract: "Hardware tests in libvirt VMs: driver servers drive PCI devices passed through with VFIO.",
        discussion: """
            Needs libvirtd (scripts/setup-vm.sh installs and starts it on a machine without systemd). \
            VMs are transient, started with autodestroy and named husk-*: a killed run leaves none behind, \
            and leftovers are removed before each run.
            """,
        subcommands: [VMTest.self, VMScenarios.self, VMReap.self])
}

struct VMScenarios: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scenarios", abstract: "List the scenarios.")
    func run() {
        for s in Scenario.all { print("\(s.name.padding(18)) \(s.summary)") }
    }
}

struct VMReap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reap",
        abstract: "Destroy every husk-* VM, and remove the files of runs that are gone.",
        discussion: """
            `husk vm test` removes only what is provably abandoned: VMs whose owner tag names a process \
            of this machine that has exited, and the disk images of runs that are gone. This command \
            removes every husk-* VM on the URIs, whoever started it (a run still going on loses its VMs), \
            and the images and logs of runs that are gone.
            """)
    @Option(help: "libvirt URI (repeatable).") var uri: [String] = ["qemu:///system"]
    @Option(help: "Work directory whose run files to clean (default: as husk vm test).") var workDir: String?
    func run() throws {
        for u in uri {
            let conn = try connect(u)
            let n: Int
            do { n = try Reaper.reapAll(conn) { say($0) } } catch {
                say("\(error)")
                throw ExitCode(2)
            }
            print("\(u): removed \(n) VM(s)")
        }
        let files = Reaper.removeAbandonedRunFiles(workDir: try workDirectory(workDir), logs: true)
        print("removed \(files.count) file(s) of runs that are gone")
    }
}

struct VMTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run scenarios, one VM each, spread over the given libvirt URIs; print a summary.",
        discussion: """
            Scenarios: \(Scenario.all.map(\.name).joined(separator: ", ")) (`husk vm scenarios`). \
            Scenario i runs on URI i modulo the number of URIs, all at once. The guest image (Debian \
            kernel, busybox, static husk) is built or taken from the cache first. A scenario passes only \
            if the console shows every expected check as PASS and a final HUSK-DONE <n>, and the host's \
            own checks pass (libvirt block statistics, the disk image after power-off). On failure the \
            guest log is kept and its path printed. Exit status 0 only if every scenario passed.
            """)
    @Argument(help: "Scenarios to run.") var scenarios: [String]
    @Option(help: "libvirt URI (repeatable: scenarios are spread over them).") var uri: [String] = ["qemu:///system"]
    @Option(help: "Accelerator: auto (KVM if a probe boot works, else TCG), kvm or tcg.") var accel: String = "auto"
    @Option(help: "Seconds a scenario may take after boot starts.") var timeout: Double = 900
    @Option(help: "Guest kernel (default: the built guest image).") var kernel: String?
    @Option(help: "Guest initramfs (default: the built guest image).") var initrd: String?
    @Option(help: "The metal host's image for metal-* scenarios (default: built with scripts/build-metal.sh).")
    var metalKernel: String?
    @Option(help: "The metal image with the port library for metal-virtio-blk (default: built with scripts/build-metal.sh --glue).")
    var metalGlueKernel: String?
    @Option(help: "Work and cache directory (default: .build-vm in the package).") var workDir: String?
    @Option(help: "Storage volumes for the kernel, initramfs and disk: auto (for URIs naming another host), always, never.")
    var volumes: String = "auto"
    @Option(
        name: .customLong("host-pci"),
        help: ArgumentHelp(
            """
            A host PCI function to pass through to every scenario's VM (repeatable), by BDF, e.g. \
            0000:03:00.0: libvirt detaches it from its host driver (managed='yes') and gives it back \
            afterwards. The guest's scenario drives the first virtio block function it finds.
            """, valueName: "BDF")) var hostPCI: [String] = []

    func validate() throws {
        for s in scenarios where Scenario.named(s) == nil {
            throw ValidationError("unknown scenario '\(s)'; choose from \(Scenario.all.map(\.name).joined(separator: ", "))")
        }
        guard ["auto", "always", "never"].contains(volumes) else { throw ValidationError("--volumes must be auto, always or never") }
        guard ["auto", "kvm", "tcg"].contains(accel) else { throw ValidationError("--accel must be auto, kvm or tcg") }
        guard (kernel == nil) == (initrd == nil) else { throw ValidationError("give --kernel and --initrd together") }
        guard !scenarios.isEmpty else { throw ValidationError("name at least one scenario (husk vm scenarios lists them)") }
        for b in hostPCI {
            let ok =
                b.count == 12 && b.enumerated().allSatisfy { i, c in [4, 7].contains(i) ? c == ":" : i == 10 ? c == "." : c.isHexDigit }
            if !ok { throw ValidationError("--host-pci \(b): expected a PCI address like 0000:03:00.0 (lspci -D shows them)") }
        }
    }

    func run() throws {
        let interrupt = InterruptFlag()
        let dir = try workDirectory(workDir)
        // Metal scenarios boot the metal image alone: the Linux guest image
        // is built only when another scenario needs it.
        let wanted = scenarios.compactMap(Scenario.named)
        let onlyMetal = wanted.allSatisfy(\.metal)
        var guest =
            onlyMetal
            ? ScenarioRunner.Guest(kernel: "", initrd: "") : try guestImage(kernel: kernel, initrd: initrd, workDir: dir)
        if wanted.contains(where: { $0.metal && !$0.metalGlue }) { guest.metalKernel = try metalImage(metalKernel, workDir: dir) }
        if wanted.contains(where: \.metalGlue) {
            guest.metalGlueKernel = try metalImage(metalGlueKernel, workDir: dir, glue: true)
        }
        if interrupt.isSet {
            say("interrupted before any VM started")
            throw ExitCode(130)
        }
        // One connection per URI: connect and reap first, so that a bad URI
        // fails before any VM starts.
        var conns: [VirConnection] = []
        for u in uri {
            let c = try connect(u)
            try reapOrFail(c)
            conns.append(c)
        }
        for f in Reaper.removeAbandonedRunFiles(workDir: dir, logs: false) { say("removed \(f) (its run is gone)") }
        var accels: [DomainDescription.Accel] = []
        for c in conns {
            switch accel {
            case "kvm": accels.append(.kvm)
            case "tcg": accels.append(.tcg)
            default:
                if onlyMetal {
                    say("accel: metal scenarios only; using TCG (--accel kvm to insist)")
                    accels.append(.tcg)
                } else if volumes == "always" || (volumes == "auto" && isRemote(c.uri)) {
                    // The probe boots from local paths; another host would
                    // need the image uploaded first.
                    say("accel: no KVM probe on \(c.uri) (the guest image lives on this host); using TCG, --accel kvm to insist")
                    accels.append(.tcg)
                } else {
                    accels.append(AccelProbe.choose(c, guest: guest) { say($0) })
                }
            }
        }
        if interrupt.isSet {
            say("interrupted before any scenario started")
            throw ExitCode(130)
        }
        let results = Mutex<[Int: ScenarioRunner.Result]>([:])
        var threads: [HostThread] = []
        for (i, name) in scenarios.enumerated() {
            let k = i % conns.count
            var runner = ScenarioRunner(
                scenario: Scenario.named(name)!, guest: guest, workDir: dir, accel: accels[k],
                timeoutSeconds: timeout, interrupted: { interrupt.isSet }, progress: { say($0) })
            runner.hostPCI = hostPCI
            runner.useVolumes = volumes == "always" || (volumes == "auto" && isRemote(uri[k]))
            let job = runner
            let conn = conns[k]
            threads.append(
                HostThread.start(name: "scenario\(i)") {
                    let r = job.run(on: conn)
                    results.withLock { $0[i] = r }
                })
        }
        for t in threads { t.join() }
        let all = results.withLock { m in (0..<scenarios.count).compactMap { m[$0] } }
        printSummary(all)
        if !all.allSatisfy(\.passed) { throw ExitCode(1) }
    }

    private func printSummary(_ rs: [ScenarioRunner.Result]) {
        print("")
        print("husk vm test: \(rs.filter(\.passed).count) of \(rs.count) scenario(s) passed")
        for r in rs {
            print("\(r.passed ? "PASS" : "FAIL") \(r.scenario) on \(r.uri) (\(r.accel.rawValue), \(Int(r.seconds)) s)")
            for c in r.checks { print("  \(c.passed ? "pass" : "FAIL") \(c.name)\(c.detail.isEmpty ? "" : ": \(c.detail)")") }
            for b in r.bench { print("  \(b)") }
            for f in r.failures { print("  failure: \(f)") }
            if !r.passed { print(access(r.logPath, F_OK) == 0 ? "  guest log: \(r.logPath)" : "  no guest log (the VM did not start)") }
        }
        // metal-virtio-blk-bench beside virtio-blk-bench: the metal figures
        // against the guest kernel's, both measured in this run.
        let ratios = MetalBench.ratios(bench: rs.flatMap(\.bench))
        if !ratios.isEmpty {
            print("metal virtio_blk vs the Linux guest kernel's virtio_blk (same VM type, this run):")
            for l in ratios { print("  \(l)") }
        }
    }
}

// MARK: helpers

/// Does the URI name another host (qemu+ssh://lab2/system), whose file
/// system this machine's paths do not reach?
func isRemote(_ uri: String) -> Bool {
    guard let r = uri.firstRange(of: "://") else { return false }
    let host = uri[r.upperBound...].prefix { $0 != "/" }
    return !host.isEmpty && host != "localhost"
}

func say(_ s: String) {
    let line = "husk vm: \(s)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

func connect(_ uri: String) throws -> VirConnection {
    do { return try VirConnection(uri: uri) } catch {
        say("\(error)")
        throw ExitCode(2)
    }
}

@discardableResult
func reapOrFail(_ c: VirConnection) throws -> Int {
    do { return try Reaper.reapAbandoned(c) { say($0) } } catch {
        say("\(error)")
        throw ExitCode(2)
    }
}

/// SIGINT/SIGTERM set a flag the runners poll: they destroy their VM and
/// remove their files; a second signal exits at once (autodestroy still
/// removes the VMs when the connection closes).
final class InterruptFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    init() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        HostThread.start(name: "signals", detached: true) { [self] in
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGINT)
            sigaddset(&set, SIGTERM)
            var sig: Int32 = 0
            while sigwait(&set, &sig) != 0 {}
            say("signal \(sig): stopping the VMs and cleaning up (again to quit at once)")
            flag.store(true, ordering: .relaxed)
            while sigwait(&set, &sig) != 0 {}
            _exit(130)
        }
    }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

/// The work directory: --work-dir, or .build-vm in the package that holds
/// this executable (…/.build/<config>/husk-vm), or ~/.cache/husk-vm.
func workDirectory(_ given: String?) throws -> String {
    let dir: String
    if let given {
        dir = given
    } else if let root = packageRoot() {
        dir = root + "/.build-vm"
    } else {
        dir = (getenv("HOME").map { String(cString: $0) } ?? "/tmp") + "/.cache/husk-vm"
    }
    _ = mkdir(dir, 0o755)
    var st = stat()
    guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
        say("cannot use \(dir) as the work directory")
        throw ExitCode(2)
    }
    return dir
}

/// The package root: the first ancestor of this executable with a Package.swift.
func packageRoot() -> String? {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return nil }
    var path = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    while let slash = path.lastIndex(of: "/"), slash != path.startIndex {
        path = String(path[..<slash])
        if access(path + "/Package.swift", F_OK) == 0 { return path }
    }
    return nil
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

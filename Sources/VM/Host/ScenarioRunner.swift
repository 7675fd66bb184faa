import DiskPattern
import Glibc

/// Runs one scenario in one transient VM on one libvirt connection and
/// collects the verdict: the guest's checks from the console, libvirt's
/// block statistics while it runs, the host's check of the disk afterwards.
public struct ScenarioRunner: Sendable {
    public struct Guest: Sendable {
        public let kernel: String
        public let initrd: String
        /// The metal host's image (scripts/build-metal.sh), for metal scenarios.
        public var metalKernel: String?
        /// The second metal image (scripts/build-metal.sh --glue), for metal scenarios with metalGlue.
        public var metalGlueKernel: String?
        public init(kernel: String, initrd: String, metalKernel: String? = nil) {
            self.kernel = kernel
            self.initrd = initrd
            self.metalKernel = metalKernel
        }
    }

    public struct Result: Sendable {
        public let scenario: String
        public let uri: String
        public let accel: DomainDescription.Accel
        public var checks: [GuestCheck] = []
        public var bench: [String] = []
        public var done: Int?
        public var failures: [String] = []
        public var seconds: Double = 0
        public var logPath: String
        public var passed: Bool { failures.isEmpty }
    }

    public let scenario: Scenario
    public let guest: Guest
    public let workDir: String
    public let accel: DomainDescription.Accel
    public let timeoutSeconds: Double
    public let interrupted: @Sendable () -> Bool
    public let progress: @Sendable (String) -> Void
    /// Host PCI functions (BDFs) passed through to the VM.
    public var hostPCI: [String] = []
    /// Send the kernel, initramfs and disk as storage volumes (for a
    /// libvirt host that does not share this file system), and fetch the
    /// disk back the same way.
    public var useVolumes = false

    public init(
        scenario: Scenario, guest: Guest, workDir: String, accel: DomainDescription.Accel, timeoutSeconds: Double,
        interrupted: @escaping @Sendable () -> Bool, progress: @escaping @Sendable (String) -> Void
    ) {
        self.scenario = scenario
        self.guest = guest
        self.workDir = workDir
        self.accel = accel
        self.timeoutSeconds = timeoutSeconds
        self.interrupted = interrupted
        self.progress = progress
    }

    public func run(on conn: VirConnection) -> Result {
        let t0 = now()
        let name = "\(Reaper.prefix)\(scenario.name)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        // The run's own directory (run-PID-START): a later run removes what
        // a killed one left, and never what a live one still uses.
        let runDir = "\(workDir)/\(RunOwner.current.directoryName)"
        mkdir(runDir, 0o755)
        var result = Result(scenario: scenario.name, uri: conn.uri, accel: accel, logPath: "\(runDir)/\(name).log")
        let disk = scenario.diskBytes > 0 ? "\(runDir)/\(name).img" : nil
        defer {
            if let disk { unlink(disk) }
            rmdir(runDir)  // only once empty: a failed run's log stays
        }
        let nonce = UInt64.random(in: 1...UInt64.max)
        do {
            if let disk {
                progress("\(scenario.name): writing pattern 1 to a \(scenario.diskBytes >> 20) MiB disk")
                try writePatternFile(path: disk, bytes: scenario.diskBytes, nonce: nonce)
            }
            // A metal scenario boots the metal image alone: no initramfs.
            var kernel = guest.kernel, initrd = guest.initrd, remoteDisk = disk
            if scenario.metal {
                guard let metal = scenario.metalGlue ? guest.metalGlueKernel : guest.metalKernel else {
                    throw ScenarioError(
                        description:
                            "no metal image (scripts/build-metal.sh\(scenario.metalGlue ? " --glue" : "") builds it; husk-vm runs it)")
                }
                kernel = metal
                initrd = ""
            }
            var store: VolumeStore?
            if useVolumes {
                let v = try VolumeStore(conn)
                store = v
                progress(
                    "\(scenario.name): uploading the kernel, initramfs\(disk == nil ? "" : " and disk") to pool '\(VolumeStore.poolName)' on \(conn.uri)"
                )
                kernel = try v.upload(kernel, as: "\(name)-vmlinuz")
                if !initrd.isEmpty { initrd = try v.upload(initrd, as: "\(name)-initrd") }
                if let disk { remoteDisk = try v.upload(disk, as: "\(name).img") }
            }
            defer { if let store { for v in ["-vmlinuz", "-initrd", ".img"] { store.delete(name + v) } } }
            // no_timer_check: under TCG on a loaded host the guest's IO-APIC
            // timer check can miss its ticks and the kernel panics with
            // "timer doesn't work through Interrupt-remapped IO-APIC" at
            // 0.02 s (seen in CI with two VMs on two cores); the timer works,
            // only the check's timing does not hold under emulation.
            var desc = DomainDescription(
                name: name, accel: accel, kernel: kernel, initrd: initrd,
                cmdline:
                    "console=ttyS0 panic=-1 no_timer_check \(scenario.kernelArguments) husk.scenario=\(scenario.name) husk.nonce=\(String(nonce, radix: 16)) husk.bytes=\(scenario.diskBytes) husk.accel=\(accel.rawValue) husk.timeout=\(Int(timeoutSeconds))"
                    + (scenario.metalGlue ? " metal_disk.accel=\(accel.rawValue)" : "")
            )
            if let remoteDisk { desc.disks = [.init(path: remoteDisk, target: "vda")] }
            desc.hostPCI = hostPCI
            desc.qemuDevices = scenario.qemuDevices
            if scenario.metal {
                desc.memoryMiB = 256  // the metal host uses one CPU
                desc.vcpus = 1
            }
            progress("\(scenario.name): booting \(name) on \(conn.uri) (\(accel.rawValue))")
            let dom = try start(&desc, on: conn)
            defer { dom.destroy() }
            let console = try dom.openConsole()
            console.log(to: result.logPath)
            let p = progress, sname = scenario.name
            console.onLine = { line in
                if line.contains("HUSK-CHECK") || line.contains("HUSK-DONE") || line.hasPrefix("BENCH") || line.contains("Kernel panic")
                    || line.contains("metal_disk: BENCH ")
                {
                    p("\(sname): guest: \(line)")
                }
            }
            var flushes: Int64 = 0
            let deadline = now() + timeoutSeconds
            var finished = false
            let ended = { (lines: [String]) in lines.contains { parseDone($0) != nil || $0.contains("Kernel panic") } }
            while !finished {
                finished = console.wait(seconds: 0.25, until: ended)
                if disk != nil, let f = try? dom.blockStats("vda")["flush_operations"] { flushes = max(flushes, f) }
                if finished { break }
                if interrupted() { break }
                if now() > deadline {
                    result.failures.append("timed out after \(Int(timeoutSeconds)) s without HUSK-DONE")
                    break
                }
                if console.isClosed || !dom.isActive {
                    // A guest powers off right after HUSK-DONE, and libvirt may
                    // report the domain gone before the event loop has handed
                    // over the console's last bytes (seen with six TCG VMs on
                    // two cores: HUSK-DONE in the log, the run said "destroyed
                    // from outside"). The stream ends after its data: wait for
                    // the line or the end, then judge.
                    if console.wait(seconds: 5, until: ended) {
                        finished = true
                        break
                    }
                    result.failures.append(
                        dom.wasDestroyed
                            ? "the VM \(name) was destroyed from outside this run (virsh destroy, `husk vm reap`, or another run)"
                            : "the guest stopped without HUSK-DONE")
                    break
                }
            }
            if interrupted() {
                // Nothing to judge: say so alone (the VM and disk go in the defers).
                dom.destroy()
                result.failures = ["interrupted (SIGINT/SIGTERM): the VM was destroyed and its disk removed"]
                result.seconds = now() - t0
                return result
            }
            let lines = console.lines
            result.checks = lines.compactMap(GuestCheck.parse)
            result.bench = lines.filter { $0.hasPrefix("BENCH ") } + (scenario.metalGlue ? MetalBench.lines(lines) : [])
            result.done = lines.lazy.compactMap(parseDone).first
            if let panicAt = lines.firstIndex(where: { $0.contains("Kernel panic") }) {
                // The reason is on the panic line and the few lines above it;
                // quote them, since the console log stays on the machine
                // that ran the test.
                result.failures.append("guest kernel panic: \(lines[panicAt])")
                for line in lines[max(0, panicAt - 12)..<panicAt] { result.failures.append("  guest console: \(line)") }
            }
            // Let the guest power off by itself (it flushed and synced), then
            // make sure the VM is gone before the host reads the disk.
            let off = now() + 30
            while dom.isActive && now() < off { usleep(100_000) }
            dom.destroy()
            if let store, let disk {
                progress("\(scenario.name): downloading the disk from \(conn.uri)")
                try store.download("\(name).img", to: disk)
            }
            judge(&result, lines: lines)
            if scenario.verifiesSecondPattern, let disk, result.failures.isEmpty {
                let check = verifyPatternFile(path: disk, bytes: scenario.diskBytes, nonce: nonce, second: true, direct: false)
                if !check.matches {
                    result.failures.append("host: the image does not hold pattern 2: \(check.detail)")
                } else {
                    result.checks.append(
                        GuestCheck(name: "host-image-pattern-2", passed: true, detail: "the host reads what the guest wrote"))
                }
            }
            if scenario.metalGlue, let disk, result.failures.isEmpty {
                let bytes = readWholeFile(disk)
                if let why = bytes.map(MetalDiskPattern.mismatch(in:)) ?? "cannot read \(disk)" {
                    result.failures.append("host: the image does not hold metal_disk's pattern: \(why)")
                } else {
                    result.checks.append(
                        GuestCheck(name: "host-image-metal-pattern", passed: true, detail: "the host reads what metal_disk wrote"))
                }
            }
            if scenario.expectsFlush {
                result.checks.append(
                    GuestCheck(name: "host-libvirt-flush-stats", passed: flushes >= 1, detail: "flush_operations=\(flushes)"))
                if flushes < 1 { result.failures.append("host: libvirt's block statistics show no flush of vda") }
            }
        } catch {
            result.failures.append("\(error)")
        }
        if result.passed { unlink(result.logPath) }
        result.seconds = now() - t0
        return result
    }

    /// Starts the domain. With a NIC pair, the loopback ports are picked
    /// now (two concurrent runs must not share them) and picked again if
    /// QEMU finds one taken in the moment since.
    private func start(_ desc: inout DomainDescription, on conn: VirConnection) throws -> VirDomain {
        guard scenario.nicPair else { return try conn.createTransient(xml: desc.xml) }
        var attempt = 1
        while true {
            let ports = try LoopbackPorts.freeUDP(count: 2)
            // Locally administered (QEMU's 52:54:00), random per run; A ends
            // in 0a and B in 0b so a console line names which one it saw.
            let r = UInt16.random(in: 0...UInt16.max)
            let base = "52:54:00:\(hex2(UInt8(r >> 8))):\(hex2(UInt8(r & 0xff)))"
            desc.nics = DomainDescription.NIC.crossedPair(macs: (base + ":0a", base + ":0b"), ports: (ports[0], ports[1]))
            progress("\(scenario.name): NICs wired over 127.0.0.1 udp ports \(ports[0]) <-> \(ports[1])")
            let dom: VirDomain
            do { dom = try conn.createTransient(xml: desc.xml) } catch {
                guard attempt < 3 && LoopbackPorts.isPortInUse(error) else { throw error }
                progress("\(scenario.name): a loopback port was taken meanwhile; picking others")
                attempt += 1
                continue
            }
            let shared = ports.filter { LoopbackPorts.socketsBound(to: $0) > 1 }
            if shared.isEmpty { return dom }
            dom.destroy()
            let what = "udp port \(shared.map(String.init).joined(separator: ", ")) is bound by another process too"
            guard attempt < 3 else { throw LoopbackPorts.Failure(description: what) }
            progress("\(scenario.name): \(what) (another VM?); picking others")
            attempt += 1
        }
    }

    private func hex2(_ b: UInt8) -> String { (b < 16 ? "0" : "") + String(b, radix: 16) }

    /// Every expected check present and PASS, no FAIL, HUSK-DONE with the
    /// number of checks printed.
    private func judge(_ r: inout Result, lines: [String]) {
        if scenario.metalGlue {
            r.checks = MetalDiskPattern.checks(lines)
            for c in r.checks where !c.passed { r.failures.append("guest: metal_disk: FAIL \(c.detail)") }
            let seen = Set(r.checks.filter(\.passed).map(\.name))
            for e in scenario.expectedChecks where !seen.contains(e) { r.failures.append("guest: metal_disk: no PASS \(e)") }
            if let p = lines.first(where: { $0.hasPrefix("panic: ") }) { r.failures.append("guest: \(p)") }
            if r.done == nil { r.failures.append("no HUSK-DONE line") }
            return
        }
        if scenario.metal {
            let tap = ConformanceTAP(lines: lines)
            r.checks = tap.areaChecks
            r.failures += tap.failures(done: r.done, expectedChecks: scenario.expectedChecks)
            return
        }
        for c in r.checks where !c.passed { r.failures.append("guest: \(c.name) FAIL \(c.detail)") }
        let seen = Set(r.checks.map(\.name))
        for e in scenario.expectedChecks where !seen.contains(e) { r.failures.append("guest: check \(e) missing") }
        guard let done = r.done else {
            if !r.failures.contains(where: { $0.contains("HUSK-DONE") }) { r.failures.append("no HUSK-DONE line") }
            return
        }
        if done != r.checks.count { r.failures.append("HUSK-DONE \(done) but \(r.checks.count) checks printed") }
    }

    private func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

struct ScenarioError: Error, CustomStringConvertible {
    let description: String
}

/// The whole file, or nil.
private func readWholeFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n > 0 { out += buf[0..<n] }
        if n < buf.count { return ferror(f) != 0 ? nil : out }
    }
}

/// KVM when a probe boot of the guest reaches its /init in time, TCG
/// otherwise (nested KVM here hangs right after the kernel decompresses).
public enum AccelProbe {
    public static func choose(
        _ conn: VirConnection, guest: ScenarioRunner.Guest, timeoutSeconds: Double = 15,
        log: (String) -> Void
    ) -> DomainDescription.Accel {
        guard let caps = try? conn.capabilities(), caps.contains("<domain type='kvm'") else {
            log("accel: \(conn.uri) offers no KVM; using TCG (software emulation)")
            return .tcg
        }
        let name = "\(Reaper.prefix)probe-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        var desc = DomainDescription(
            name: name, accel: .kvm, kernel: guest.kernel, initrd: guest.initrd,
            cmdline: "console=ttyS0 panic=-1 no_timer_check husk.scenario=probe")
        desc.memoryMiB = 256
        do {
            let dom = try conn.createTransient(xml: desc.xml)
            defer { dom.destroy() }
            let console = try dom.openConsole()
            if console.wait(seconds: timeoutSeconds, until: { $0.contains { $0.contains("HUSK-") } }) {
                log("accel: a KVM probe boot reached /init; using KVM")
                return .kvm
            }
            log(
                "accel: a KVM probe boot showed nothing from /init within \(Int(timeoutSeconds)) s (nested KVM hangs on these machines); using TCG (software emulation, slower)"
            )
        } catch {
            log("accel: KVM probe failed (\(error)); using TCG (software emulation, slower)")
        }
        return .tcg
    }
}

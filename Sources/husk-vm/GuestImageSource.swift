import ArgumentParser
import VMHost

/// The guest kernel and initramfs: given, or built by the guest image
/// builder (VMImage) — wired in when that module lands.
func guestImage(kernel: String?, initrd: String?, workDir: String) throws -> ScenarioRunner.Guest {
    if let kernel, let initrd { return ScenarioRunner.Guest(kernel: kernel, initrd: initrd) }
    say("no guest image builder yet: pass --kernel and --initrd")
    throw ExitCode(2)
}

import ArgumentParser
import VMHost
import VMImage

/// The guest kernel and initramfs: given with --kernel/--initrd, or built
/// (cached by content) by VMImage from Debian's kernel, busybox-static and
/// the static husk (docs/vm-guest.md).
func guestImage(kernel: String?, initrd: String?, workDir: String) throws -> ScenarioRunner.Guest {
    if let kernel, let initrd { return ScenarioRunner.Guest(kernel: kernel, initrd: initrd) }
    guard let root = packageRoot() else {
        say("cannot find the package (Package.swift above this executable) to build the guest image; pass --kernel and --initrd")
        throw ExitCode(2)
    }
    do {
        let a = try GuestImage.build(packageRoot: root, cacheDir: workDir, progress: { say("image: \($0)") })
        say("guest image: kernel \(a.kernelVersion), \(a.initrd)")
        return ScenarioRunner.Guest(kernel: a.kernel, initrd: a.initrd)
    } catch {
        say("cannot build the guest image: \(error)")
        throw ExitCode(2)
    }
}

/// The metal host's image: given with --metal-kernel, or built now with
/// scripts/build-metal.sh (a few seconds; docs/porting.md).
func metalImage(_ given: String?, workDir: String, glue: Bool = false) throws -> String {
    if let given { return given }
    guard let root = packageRoot() else {
        say("cannot find the package (Package.swift above this executable) to build the metal image; pass --metal-kernel")
        throw ExitCode(2)
    }
    do {
        let path = try MetalImage.build(packageRoot: root, cacheDir: workDir, glue: glue)
        say("metal image: \(path)")
        return path
    } catch {
        say("cannot build the metal image: \(error)")
        throw ExitCode(2)
    }
}

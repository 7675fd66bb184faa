#if !HUSK_STATIC
    import ArgumentParser
    import Glibc

    /// `husk vm test|scenarios|reap ...` run `husk-vm` (next to this
    /// executable): the host side links libvirt, which husk itself must not
    /// (it also runs inside guests as a static executable). docs/vm.md.
    struct VMForwarded: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Run VM scenarios through libvirt (husk-vm test; see `husk vm test --help`).",
            shouldDisplay: true)
        @Argument(parsing: .captureForPassthrough, help: "Arguments for husk-vm test.") var arguments: [String] = []
        func run() throws { try execHuskVM(["test"] + arguments) }
    }

    struct VMScenariosForwarded: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "scenarios", abstract: "List the VM scenarios.")
        func run() throws { try execHuskVM(["scenarios"]) }
    }

    struct VMReapForwarded: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reap", abstract: "Destroy leftover husk-* VMs.")
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
        func run() throws { try execHuskVM(["reap"] + arguments) }
    }

    /// Replace this process with husk-vm ARGS (found next to husk, or on PATH).
    func execHuskVM(_ args: [String]) throws -> Never {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        var candidates: [String] = []
        if n > 0 {
            let me = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = me.lastIndex(of: "/") { candidates.append(String(me[..<slash]) + "/husk-vm") }
        }
        if let p = findExecutable("husk-vm") { candidates.append(p) }
        guard let exe = candidates.first(where: { access($0, X_OK) == 0 }) else {
            printError(
                "husk vm: husk-vm not found next to husk or on PATH; build it with `scripts/setup-vm.sh && swift build --product husk-vm` (it links libvirt)"
            )
            throw ExitCode(2)
        }
        var cargs: [UnsafeMutablePointer<CChar>?] = (["husk-vm"] + args).map { strdup($0) } + [nil]
        execv(exe, &cargs)
        printError("husk vm: cannot run \(exe): \(String(cString: strerror(errno)))")
        throw ExitCode(2)
    }
#endif

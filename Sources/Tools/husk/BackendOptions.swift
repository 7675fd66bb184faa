import ArgumentParser
import HuskHost
import Hypercalls

/// Options shared by every command that starts a backend.
struct BackendOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Runtime backend: posix, sim, vfio or uio.", valueName: "name"))
    var backend: String = "posix"

    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            A device for the backend (repeatable). sim: 'edu' (QEMU's educational device) or \
            'virtio-blk:image=PATH[,ro][,cache=volatile|writethrough]' or 'virtio-blk:size=16M' or \
            'virtio-net:link=NAME|tap=IFNAME[,mac=M][,mtu=N][,down]' (two NICs on one link are back to back). \
            vfio/uio: a PCI address such as 0000:00:03.0.
            """, valueName: "spec"))
    var device: [String] = []

    @Option(name: .long, help: ArgumentHelp("Hugepages (2 MiB) to reserve for the uio DMA pool.", valueName: "n"))
    var hugepages: Int = 8

    @Option(name: .long, help: ArgumentHelp("Log level: error, warn, info or debug.", valueName: "level"))
    var logLevel: String = "info"

    func validate() throws {
        guard BackendFactory.names.contains(backend) else {
            throw ValidationError("unknown backend '\(backend)'; choose one of: \(BackendFactory.names.joined(separator: ", "))")
        }
        guard ["error", "warn", "info", "debug"].contains(logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'; choose error, warn, info or debug")
        }
        guard hugepages > 0, hugepages <= 4096 else { throw ValidationError("--hugepages must be between 1 and 4096") }
    }

    /// Create the backend or exit with its message (exit status 2).
    func makeBackend() throws -> any HostBackend {
        HostLog.maxLevel = ["error": 0, "warn": 1, "info": 2, "debug": 3][logLevel] ?? 2
        do {
            return try BackendFactory.make(name: backend, devices: device, hugepages: hugepages)
        } catch {
            printError("husk: cannot start the \(backend) backend: \(error)")
            throw ExitCode(2)
        }
    }
}

func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var s = string
        s.withUTF8 { buf in _ = Glibc_write(2, buf.baseAddress, buf.count) }
    }
}

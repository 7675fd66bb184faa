import ArgumentParser
import PlatformC

@main
struct Husk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "husk",
        abstract: "Run kernel-grade C components (drivers, file systems, network stacks) as user-space servers.",
        discussion: """
            Components are portable C units that use only the hypercall ABI (husk/hypercall.h) and the \
            glue headers. The host implements the hypercall table in Swift on one of four runtime backends:
              posix  files only, no devices (the embedded default)
              sim    simulated PCI devices in-process (edu, virtio-blk) behind a simulated IOMMU
              vfio   real PCI devices bound to vfio-pci (Linux VFIO, IOMMU DMA mapping)
              uio    real PCI devices bound to uio_pci_generic (hugepage DMA pool)
            Start with `husk demo`, then `husk components` and `husk run --help`.
            """,
        subcommands: [
            Demo.self, Run.self, Components.self, Devices.self, ABI.self, ConformanceCommand.self, Bench.self, Echo.self, Blk.self,
            NIC.self, NetCommand.self, FsCommand.self, Up.self,
            Status.self, Down.self, VM.self
        ]
    )

    static func main() {
        // Line-buffered stdout, so that our lines interleave with the host's
        // log lines (stderr) in the order they happened, also into a pipe.
        husk_stdout_line_buffered()
        main(nil)
    }
}

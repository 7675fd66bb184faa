import ArgumentParser

/// `husk vm`: test guests (docs/vm-guest.md). `image` builds the guest kernel +
/// initramfs on the host; `guest` runs inside the guest (static build);
/// `pattern` fills and verifies disk images on both sides.
struct VM: ParsableCommand {
    #if HUSK_STATIC
        // The static husk (what runs inside the guest) has no host-side commands.
        static let configuration = CommandConfiguration(
            commandName: "vm",
            abstract: "Test guests: the in-guest scenario runner and disk patterns.",
            subcommands: [VMGuest.self, VMPattern.self]
        )
    #else
        static let configuration = CommandConfiguration(
            commandName: "vm",
            abstract: "Hardware tests in libvirt VMs: run scenarios, build the guest image, disk patterns.",
            discussion: "test, scenarios and reap run husk-vm (it links libvirt; husk does not). docs/vm.md.",
            subcommands: [
                VMForwarded.self, VMScenariosForwarded.self, VMReapForwarded.self, VMImageCommand.self, VMPattern.self, VMGuest.self
            ]
        )
    #endif
}

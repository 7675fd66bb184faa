/// A test VM as a typed description; `xml` renders libvirt's domain XML.
/// Machine q35 with an Intel vIOMMU (Debian's kernel has no VFIO no-IOMMU
/// mode), direct kernel boot, a serial console, and the disks under test
/// with `<driver iommu='on'/>` (VIRTIO_F_ACCESS_PLATFORM: without it QEMU's
/// virtio device bypasses the vIOMMU and DMA through VFIO lands at the
/// wrong addresses).
public struct DomainDescription: Sendable {
    public enum Accel: String, Sendable { case kvm, tcg }

    public struct Disk: Sendable {
        public var path: String
        public var target: String  // vda, vdb, ...
        public init(path: String, target: String) {
            self.path = path
            self.target = target
        }
    }

    /// A virtio NIC (modern only, `<driver iommu='on'/>`, no option ROM) and
    /// the host end its frames go to. Every wiring keeps them on 127.0.0.1:
    /// a test must not put frames on a real network.
    public struct NIC: Sendable, Equatable {
        public enum Wiring: Sendable, Equatable {
            /// QEMU `-netdev socket,udp=127.0.0.1:remote,localaddr=127.0.0.1:local`:
            /// every frame is one datagram; two NICs with crossed ports are a cable.
            case udp(localPort: UInt16, remotePort: UInt16)
        }
        public var mac: String
        public var wiring: Wiring
        public init(mac: String, wiring: Wiring) {
            self.mac = mac
            self.wiring = wiring
        }

        /// Two NICs joined to each other through the loopback ports `a` and `b`.
        public static func crossedPair(macs: (String, String), ports: (UInt16, UInt16)) -> [NIC] {
            [
                NIC(mac: macs.0, wiring: .udp(localPort: ports.0, remotePort: ports.1)),
                NIC(mac: macs.1, wiring: .udp(localPort: ports.1, remotePort: ports.0))
            ]
        }
    }

    public var name: String
    public var accel: Accel
    public var memoryMiB = 512
    public var vcpus = 2
    public var kernel: String
    public var initrd: String
    public var cmdline: String
    public var disks: [Disk] = []
    /// In this order on the PCI bus (libvirt assigns ascending addresses).
    public var nics: [NIC] = []
    /// Host PCI functions passed through (BDF "0000:03:00.0"), managed by libvirt.
    public var hostPCI: [String] = []
    /// Extra QEMU devices (`-device ARG`) through libvirt's QEMU namespace,
    /// for devices its XML has no element for (QEMU's edu).
    public var qemuDevices: [String] = []
    public var emulator = "/usr/bin/qemu-system-x86_64"
    /// The run this VM belongs to, kept in <metadata> so that other runs
    /// leave it alone while its owner lives (Reaper).
    public var owner: RunOwner? = .current

    public init(name: String, accel: Accel, kernel: String, initrd: String, cmdline: String) {
        self.name = name
        self.accel = accel
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
    }

    public var xml: String {
        let ns = qemuDevices.isEmpty ? "" : " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"
        var x = "<domain type='\(accel == .kvm ? "kvm" : "qemu")'\(ns)>\n"
        x += "  <name>\(xmlEscape(name))</name>\n"
        if let owner { x += "  <metadata>\n    \(owner.xmlElement)\n  </metadata>\n" }
        x += "  <memory unit='MiB'>\(memoryMiB)</memory>\n  <vcpu>\(vcpus)</vcpu>\n"
        x += "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n"
        x += "    <kernel>\(xmlEscape(kernel))</kernel>\n"
        if !initrd.isEmpty { x += "    <initrd>\(xmlEscape(initrd))</initrd>\n" }
        x += "    <cmdline>\(xmlEscape(cmdline))</cmdline>\n  </os>\n"
        // The split irqchip (ioapic driver qemu) is what intremap needs.
        x += "  <features>\n    <acpi/>\n    <ioapic driver='qemu'/>\n  </features>\n"
        if accel == .kvm { x += "  <cpu mode='host-passthrough'/>\n" }
        x += "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n  <on_crash>destroy</on_crash>\n"
        x += "  <devices>\n    <emulator>\(xmlEscape(emulator))</emulator>\n"
        for d in disks {
            x += "    <disk type='file' device='disk'>\n"
            x += "      <driver name='qemu' type='raw' cache='none' iommu='on'/>\n"
            x += "      <source file='\(xmlEscape(d.path))'/>\n      <target dev='\(xmlEscape(d.target))' bus='virtio'/>\n"
            x += "    </disk>\n"
        }
        for n in nics {
            switch n.wiring {
            case .udp(let local, let remote):
                x += "    <interface type='udp'>\n"
                x += "      <mac address='\(xmlEscape(n.mac))'/>\n"
                x += "      <source address='127.0.0.1' port='\(remote)'>\n"
                x += "        <local address='127.0.0.1' port='\(local)'/>\n      </source>\n"
            }
            // non-transitional: modern virtio only (1af4:1041), what the
            // project's driver speaks; no option ROM: nothing boots from it.
            x += "      <model type='virtio-non-transitional'/>\n"
            x += "      <driver iommu='on'/>\n      <rom enabled='no'/>\n"
            x += "    </interface>\n"
        }
        for bdf in hostPCI {
            let p = bdf.split(separator: ":").flatMap { $0.split(separator: ".") }.map(String.init)
            if p.count == 4 {
                x += "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"
                x += "      <source><address domain='0x\(p[0])' bus='0x\(p[1])' slot='0x\(p[2])' function='0x\(p[3])'/></source>\n"
                x += "    </hostdev>\n"
            }
        }
        x += "    <serial type='pty'><target port='0'/></serial>\n"
        x += "    <console type='pty'><target type='serial' port='0'/></console>\n"
        // caching_mode lets VFIO in the guest map DMA for passed-through devices.
        x += "    <iommu model='intel'><driver intremap='on' caching_mode='on'/></iommu>\n"
        x += "    <memballoon model='none'/>\n"
        x += "  </devices>\n"
        if !qemuDevices.isEmpty {
            x += "  <qemu:commandline>\n"
            for d in qemuDevices { x += "    <qemu:arg value='-device'/>\n    <qemu:arg value='\(xmlEscape(d))'/>\n" }
            x += "  </qemu:commandline>\n"
        }
        x += "</domain>\n"
        return x
    }
}

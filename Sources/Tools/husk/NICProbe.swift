import ArgumentParser
import Glibc
import GlueAPI
import HuskHost
import Platform

/// `husk nic`: network interfaces from the glue's registry.
struct NIC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nic",
        abstract: "Network interfaces in the glue's registry (docs/netif.md).",
        discussion: """
            A NIC driver component (tap, virtio_net) registers its interfaces in the glue's NIC registry; \
            `husk nic serve` exports them over the native RPC (Interfaces/nic.idl, docs/nic.md) so that a \
            network stack in another process can use them; info, dump and probe are its clients.
            """,
        subcommands: [NICServe.self, NICInfo.self, NICDump.self, NICProbe.self])
}

/// Drives a TAP interface through the registry as a network stack would:
/// ARP for the peer, then ICMP echo, with the host kernel's own network
/// stack answering on the other end of the TAP.
struct NICProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Talk to the host kernel through a NIC, as a network stack would (ARP, then ICMP echo).",
        discussion: """
            The probe uses an interface as its one consumer: with --tap it loads the tap component in this \
            process and opens the interface in the NIC registry; with --socket it opens the stack port of an \
            interface on a NIC server (`husk nic serve`). It asks for the peer's Ethernet address with ARP \
            and sends --count ICMP echo requests, answering ARP requests for --ip meanwhile. The peer is the \
            host kernel: give the TAP interface the --peer address and bring it up first, e.g. in a network \
            namespace of your own:
              ip netns add t; ip -n t tuntap add dev hk0 mode tap; ip -n t addr add 169.254.77.1/24 dev hk0
              ip -n t link set hk0 up; ip netns exec t husk nic probe --tap hk0 --ip 169.254.77.2 --peer 169.254.77.1
            Exit status 0 when the ARP reply and every echo reply came back, 1 otherwise.
            """)

    @Option(help: "The TAP interface (the tap component in this process).") var tap: String?
    @Flag(help: "With --tap: create the TAP interface (it goes away at exit).") var create = false
    @Option(help: "A NIC server's socket (instead of --tap).") var socket: String?
    @Option(help: "With --socket: the interface (default: the server's only one).") var interface: String?
    @Option(help: "This end's IPv4 address.") var ip: String
    @Option(help: "The peer's IPv4 address (the kernel's end).") var peer: String
    @Option(help: "ICMP echo requests to send.") var count = 3
    @Option(help: "Seconds to wait for each reply.") var timeout = 5.0

    func validate() throws {
        guard (tap == nil) != (socket == nil) else { throw ValidationError("give exactly one of --tap NAME or --socket PATH") }
        if create && tap == nil { throw ValidationError("--create needs --tap NAME") }
        if interface != nil && socket == nil { throw ValidationError("--interface needs --socket PATH") }
        guard IPv4(ip) != nil else { throw ValidationError("--ip '\(ip)' is not an IPv4 address") }
        guard IPv4(peer) != nil else { throw ValidationError("--peer '\(peer)' is not an IPv4 address") }
        guard (1...1000).contains(count) else { throw ValidationError("--count must be 1...1000") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        var host: ComponentHost?
        defer { host?.shutdown() }
        let transport: any ProbeTransport
        do {
            if let tap {
                let h = ComponentHost(backend: try BackendFactory.make(name: "posix", devices: []))
                host = h
                guard let tapComponent = ComponentRegistry.builtIn(named: "tap") else {
                    printError("husk nic probe: this husk has no built-in tap component")
                    throw ExitCode(1)
                }
                h.load([tapComponent], parameters: ["tap": ["name": tap, "create": create ? "1" : "0"]])
                guard h.refused.isEmpty else {
                    printError("husk nic probe: \(h.refused.first!.reason)")
                    throw ExitCode(1)
                }
                transport = try RegistryTransport(interface: tap)
            } else {
                transport = try ServerTransport(socket: socket!, interface: interface)
            }
        } catch let e as ProbeOpenError {
            printError("husk nic probe: \(e)")
            throw ExitCode(1)
        }
        let link = ProbeLink(transport)
        defer { link.close() }
        let me = IPv4(ip)!, them = IPv4(peer)!
        var ok = true
        let t0 = monotonicNanos()
        guard let peerMAC = link.resolve(them, from: me, timeout: timeout) else {
            print("arp: no reply from \(peer) within \(timeout) s")
            print("probe: 0/\(count) echo replies; frames sent \(link.sent) received \(link.received)")
            throw ExitCode(1)
        }
        print("arp: \(peer) is at \(macString(peerMAC)) (\(milliseconds(since: t0)) ms)")
        var replies = 0
        for seq in 1...count {
            let start = monotonicNanos()
            if link.ping(them, mac: peerMAC, from: me, sequence: UInt16(seq), timeout: timeout) {
                replies += 1
                print("icmp: reply from \(peer) seq=\(seq) bytes=\(ProbeLink.pingPayload) time=\(milliseconds(since: start)) ms")
            } else {
                print("icmp: no reply from \(peer) seq=\(seq) within \(timeout) s")
                ok = false
            }
        }
        print("probe: \(replies)/\(count) echo replies; frames sent \(link.sent) received \(link.received)")
        if !ok { throw ExitCode(1) }
    }

    private func milliseconds(since t: UInt64) -> String { String(format2: Double(monotonicNanos() - t) / 1e6) }
}

func macString(_ m: [UInt8]) -> String {
    m.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: ":")
}

/// A dotted-quad IPv4 address.
struct IPv4: Equatable {
    let bytes: [UInt8]
    init?(_ s: String) {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 != nil }) else { return nil }
        bytes = parts.map { $0! }
    }
    init(bytes: ArraySlice<UInt8>) { self.bytes = Array(bytes) }
}

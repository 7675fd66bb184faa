import ArgumentParser
import Glibc
import Glue
import GlueAPI
import HuskHost
import NICRemote
import NetServer
import RPCInterfaces
import RPCServer
import Sandbox

/// `husk net serve`: the lwip component's sockets over the native RPC, the
/// stack running over a NIC in this process (a TAP, or the virtio_net
/// driver) or over a NIC server in another (`husk nic serve`).
struct NetServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a TCP/IP stack's sockets (lwIP) over the native RPC until SIGINT/SIGTERM.",
        discussion: """
            The lwip component runs over one network interface: --tap NAME (the tap component; the TAP is \
            created when it does not exist, and removed at exit if it was created here), --nic-socket S \
            (an interface of a NIC server in another process, `husk nic serve`; --interface picks one), or \
            --backend vfio|uio|sim --device D (the virtio_net driver, when built in). Clients create sockets \
            through Interfaces/net.idl (docs/net.md): `husk net connect|listen`, the Swift NetClient, the C \
            library husk/net_socket.h. In a fresh network namespace:
              husk net serve --tap hk0 --address 10.77.0.2/24 --socket /tmp/net.sock &
              ip addr add 10.77.0.1/24 dev hk0; ip link set hk0 up; ping 10.77.0.2
              echo hello | husk net connect --socket /tmp/net.sock 10.77.0.1 7777
            Binding a port below 1024 needs the admin right: `allow net.admin uid=...` in --policy.
            """)

    @Option(help: "A host TAP interface (created if missing, and then removed at exit).") var tap: String?
    @Option(name: .customLong("nic-socket"), help: "A NIC server's socket: the stack uses one of its interfaces.")
    var nicSocket: String?
    @Option(help: "With --nic-socket or --backend: the interface (default: the NIC server's first, or the driver's first, vnet0).")
    var interface: String?
    @Option(help: "The stack's IPv4 address and prefix length, e.g. 10.77.0.2/24.") var address: String?
    @Option(help: "The IPv4 default gateway.") var gateway: String?
    @Option(help: "A global or unique-local IPv6 address, e.g. fd77::2 (the link-local one is always made).") var address6: String?
    @Option(help: "Path of the RPC socket.") var socket: String
    @Option(
        name: .customLong("listen-fd"),
        help: "Serve the already-listening socket inherited as this descriptor (from `husk up`); --socket then only names it.")
    var listenFD: Int32?
    @Option(help: "A policy file granting net.* operations and the net.admin right to uids/gids (docs/rpc-runtime.md).")
    var policy: String?
    @Option(help: "Permissions of the socket file, octal (e.g. 666; the policy still decides).") var mode: String?
    @Option(help: "Most worker threads running calls at once (each blocked accept or recv holds one).") var workers: Int = 256
    @Option(help: "Seconds calls in flight may take to finish at shutdown (blocked calls end at once).") var shutdownDeadline: Double = 5
    @OptionGroup(title: "Backend (for a PCI NIC)") var backendOptions: BackendOptions
    @OptionGroup(title: "Privilege separation (docs/sandbox.md)") var sandboxing: SandboxOptions

    func validate() throws {
        let sources = [tap != nil, nicSocket != nil, !backendOptions.device.isEmpty].filter { $0 }.count
        guard sources == 1 else {
            throw ValidationError("give exactly one of --tap NAME, --nic-socket PATH, or --backend vfio|uio|sim with --device")
        }
        if interface != nil && tap != nil {
            throw ValidationError("--interface goes with --nic-socket or --backend: with --tap the interface is the TAP")
        }
        if let tap, tap.isEmpty || tap.utf8.count > Int(NETIF_NAME_MAX) {
            throw ValidationError("--tap must be 1...\(NETIF_NAME_MAX) bytes")
        }
        if address == nil && address6 == nil { throw ValidationError("give the stack an address: --address CIDR and/or --address6 ADDR") }
        if gateway != nil && address == nil { throw ValidationError("--gateway needs --address") }
        if let mode, mode_t(mode, radix: 8) == nil { throw ValidationError("--mode must be octal, e.g. 666") }
        guard workers >= 4 && workers <= 4096 else { throw ValidationError("--workers must be 4...4096") }
    }

    /// The lwip component's parameters.
    private func stackParameters(ifname: String) -> [String: String] {
        var p = ["ifname": ifname]
        if let address { p["address"] = address }
        if let gateway { p["gateway"] = gateway }
        if let address6 { p["address6"] = address6 }
        return p
    }

    func run() throws {
        let stop = StopSignal()
        let host = ComponentHost(backend: try backendOptions.makeBackend())
        var remote: RemoteInterface?
        func fail(_ message: String) -> ExitCode {
            printError("husk net serve: \(message)")
            host.shutdown()
            remote?.stop()
            return ExitCode(1)
        }
        guard let lwip = ComponentRegistry.builtIn(named: "lwip") else { throw fail("this husk has no built-in lwip component") }
        var components: [ComponentDescriptor] = []
        var parameters: [String: [String: String]] = [:]
        let ifname: String
        if let tap {
            guard let t = ComponentRegistry.builtIn(named: "tap") else { throw fail("this husk has no built-in tap component") }
            // Created here only if missing: then the tap component removes it at exit.
            let exists = access("/sys/class/net/\(tap)", F_OK) == 0
            components.append(t)
            parameters["tap"] = ["name": tap, "create": exists ? "0" : "1"]
            ifname = tap
        } else if let nicSocket {
            do { remote = try RemoteInterface(socket: nicSocket, interface: interface) } catch { throw fail("\(error)") }
            ifname = remote!.name
        } else {
            guard let driver = ComponentRegistry.builtIn(named: "virtio_net") else {
                throw fail("this husk has no built-in virtio_net component (see `husk components`); use --tap or --nic-socket")
            }
            // The driver first, alone: it attaches to every virtio-net device
            // of the backend while it loads, and only then are the interfaces
            // it registered known (vnet0, vnet1, ... in device order; a name
            // taken already is skipped, so vnet0 is not a given).
            host.load([driver], parameters: [:])
            if let r = host.refused.first { throw fail(r.reason) }
            let names = Glue.netifNames()
            guard let first = names.first else {
                throw fail("the virtio_net driver registered no interface (is a --device a virtio-net device? see `husk devices`)")
            }
            if let interface, !names.contains(interface) {
                throw fail("no interface \(interface): the virtio_net driver registered \(names.joined(separator: ", "))")
            }
            ifname = interface ?? (names.contains("vnet0") ? "vnet0" : first)
        }
        components.append(lwip)
        parameters["lwip"] = stackParameters(ifname: ifname)
        host.load(components, parameters: parameters)
        if let r = host.refused.first { throw fail(r.reason) }
        guard let stack = Glue.SocketStack(named: "lwip") else { throw fail("the lwip component registered no socket provider") }

        var config = RPCServer.Configuration(name: "net")
        do { config.policy = try policy.map(loadPolicyFile) ?? AccessPolicy.allowAll } catch { throw fail("\(error)") }
        config.maxWorkers = workers
        let service = SocketService(stack: stack, policy: config.policy)
        let server = RPCServer(configuration: config, handlers: [NetDispatcher(service)])
        do {
            if let listenFD {
                try server.listen(inheritedDescriptor: listenFD, path: socket)
            } else {
                try server.listen(path: socket, mode: mode.flatMap { mode_t($0, radix: 8) })
            }
        } catch { throw fail("cannot listen on \(socket): \(error)") }
        let sandbox: Sandbox
        do {
            let groups = backendOptions.backend == "posix" ? [] : [SyscallAllowList.pciDevice]
            sandbox = try sandboxing.enter(command: "husk net serve", sockets: listenFD == nil ? [socket] : [], extraGroups: groups)
        } catch {
            server.shutdown(deadline: 0, grace: 0)
            service.stop()
            host.shutdown()
            remote?.stop()
            throw error
        }
        let addresses = [address, address6].compactMap { $0 }.joined(separator: ", ")
        print("stack lwip on \(ifname)\(nicSocket.map { " (NIC server \($0))" } ?? ""): \(addresses)")
        print("listening on \(socket)")
        let sig = stop.wait()
        printError("husk net serve: signal \(sig), shutting down")
        // Blocked accepts and receives end first, so the deadline is for real work.
        service.stop()
        server.shutdown(deadline: shutdownDeadline)
        sandbox.removeSocketFiles()
        host.shutdown()
        remote?.stop()
    }
}

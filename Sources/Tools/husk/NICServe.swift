import ArgumentParser
import Glibc
import Glue
import GlueAPI
import HuskHost
import NICServer
import RPCInterfaces
import RPCServer
import Sandbox

/// `husk nic serve`: a NIC driver's interfaces over the native RPC.
struct NICServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve network interfaces (a TAP, or the virtio_net driver's NICs) over the native RPC until SIGINT/SIGTERM.",
        discussion: """
            With --tap, the tap component opens the host TAP interface (--create makes it, and it goes away \
            at exit) and the server serves it under the same name. Otherwise the virtio_net driver attaches \
            to every virtio network device of the backend (--backend vfio --device 0000:00:04.0, --backend \
            uio ..., --backend sim --device virtio-net:link=l0); its interfaces are vnet0, vnet1, ...
            A client opens an interface as its one stack port (send and receive) or as a monitor (a copy \
            of every frame both ways: `husk nic dump`). Interfaces/nic.idl, docs/nic.md.
              ip tuntap add dev hk0 mode tap && ip link set hk0 up
              husk nic serve --tap hk0 --socket /tmp/nic.sock &
              husk nic info --socket /tmp/nic.sock
              husk nic dump --socket /tmp/nic.sock --output /tmp/hk0.pcap --count 10 && tcpdump -r /tmp/hk0.pcap
            On SIGINT/SIGTERM calls in flight finish (up to --shutdown-deadline seconds; a waiting receive \
            returns at once), then the interfaces are closed and the components finalised.
            """)

    @Option(help: "A host TAP interface to serve (tap component).") var tap: String?
    @Flag(help: "With --tap: create the TAP interface (needs CAP_NET_ADMIN; removed at exit).") var create = false
    @Option(help: "Path of the RPC socket.") var socket: String
    @Option(
        name: .customLong("listen-fd"),
        help:
            "Serve the already-listening socket inherited as this descriptor (from `husk up`, docs/supervision.md); --socket then only names it: it is not bound, and not removed at exit."
    ) var listenFD: Int32?
    @Option(help: "A policy file granting nic.* operations to uids/gids (docs/rpc-runtime.md).") var policy: String?
    @Option(help: "Permissions of the socket file, octal (e.g. 666 so that other users can connect; the policy still decides).")
    var mode: String?
    @Option(help: "Most worker threads running calls at once (each waiting receive holds one).") var workers: Int = 64
    @Option(help: "Seconds calls in flight may take to finish at shutdown before they are cancelled.") var shutdownDeadline: Double = 5
    @OptionGroup(title: "Backend (for a PCI NIC)") var backendOptions: BackendOptions
    @OptionGroup(title: "Privilege separation (docs/sandbox.md)") var sandboxing: SandboxOptions

    func validate() throws {
        if let mode, mode_t(mode, radix: 8) == nil { throw ValidationError("--mode must be octal, e.g. 666") }
        guard workers >= 1 && workers <= 1024 else { throw ValidationError("--workers must be 1...1024") }
        if tap == nil && backendOptions.device.isEmpty {
            throw ValidationError("nothing to serve: give --tap NAME, or --backend vfio|uio|sim with --device")
        }
        if tap != nil && !backendOptions.device.isEmpty {
            throw ValidationError("--tap and --device are exclusive: one server serves either a TAP or PCI NICs")
        }
        if create && tap == nil { throw ValidationError("--create needs --tap NAME") }
        if let tap, tap.isEmpty || tap.utf8.count > Int(NETIF_NAME_MAX) {
            throw ValidationError("--tap must be 1...\(NETIF_NAME_MAX) bytes")
        }
    }

    func run() throws {
        let stop = StopSignal()
        let host = ComponentHost(backend: try backendOptions.makeBackend())
        let component = tap == nil ? "virtio_net" : "tap"
        guard let descriptor = ComponentRegistry.builtIn(named: component) else {
            printError("husk nic serve: this husk has no built-in \(component) component (see `husk components`)")
            throw ExitCode(1)
        }
        var params: [String: String] = [:]
        if let tap { params = ["name": tap, "create": create ? "1" : "0"] }
        host.load([descriptor], parameters: [component: params])
        let names = Glue.netifNames()
        if host.loaded.isEmpty || names.isEmpty {
            let why = host.refused.first?.reason ?? "no interface was registered (no device the driver could attach?)"
            printError("husk nic serve: \(why)")
            host.shutdown()
            throw ExitCode(1)
        }
        let service: NICService
        do { service = try NICService(interfaces: names) } catch {
            printError("husk nic serve: \(error)")
            host.shutdown()
            throw ExitCode(1)
        }
        var config = RPCServer.Configuration(name: "nic")
        config.policy = try policy.map(loadPolicyFile) ?? AccessPolicy.allowAll
        config.maxWorkers = workers
        let server = RPCServer(configuration: config, handlers: [NicDispatcher(service)])
        do {
            if let listenFD {
                try server.listen(inheritedDescriptor: listenFD, path: socket)
            } else {
                try server.listen(path: socket, mode: mode.flatMap { mode_t($0, radix: 8) })
            }
        } catch {
            printError("husk nic serve: cannot listen on \(socket): \(error)")
            service.shutdown()
            host.shutdown()
            throw ExitCode(1)
        }
        let sandbox: Sandbox
        do {
            // TAP frames move with read, write and poll (in the server groups).
            let groups = backendOptions.backend == "posix" ? [] : [SyscallAllowList.pciDevice]
            sandbox = try sandboxing.enter(command: "husk nic serve", sockets: listenFD == nil ? [socket] : [], extraGroups: groups)
        } catch {
            server.shutdown(deadline: 0, grace: 0)
            service.shutdown()
            host.shutdown()
            throw error
        }
        for n in names { print("interface \(n): \(service.describe(n))") }
        print("listening on \(socket)")
        let sig = stop.wait()
        printError("husk nic serve: signal \(sig), shutting down")
        server.shutdown(deadline: shutdownDeadline)
        sandbox.removeSocketFiles()
        service.shutdown()
        host.shutdown()
    }
}

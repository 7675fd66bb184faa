import Glibc
import Glue
import GlueAPI
import HypercallABI
import NICClient
import Platform
import RPCWire

/// An interface of a NIC server in another process (`husk nic serve`),
/// registered in this process's glue NIC registry, so that a stack
/// component (lwip) runs over it exactly as over a local NIC: the
/// provider's transmit sends each frame through the port (nic.send), a
/// receive thread waits on nic.receive and lends each frame it gets to the
/// registry's consumer (glue_netif_input), and link changes the server
/// reports become glue_netif_link. The port is the interface's one stack
/// port: a second stack gets EBUSY from the server.
public final class RemoteInterface: @unchecked Sendable {
    // @unchecked: `nif` is set once in init and only read after; the flags
    // are behind `lock`.
    public let name: String
    let port: NICPort
    let nif: UnsafeMutablePointer<netif>
    private let lock = Monitor()
    private var stopping = false
    private var receiver: HostThread?
    private var link: UInt32

    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// Open `interface` (nil: the server's first) as a stack port of the
    /// NIC server at `socket`, and register it in the registry as `name`
    /// (default: the same name).
    public init(socket: String, interface: String?, name: String? = nil) throws {
        let client: NICServerClient
        do { client = try NICServerClient(socket: socket) } catch {
            throw Failure(description: "cannot connect to the NIC server at \(socket): \(error)")
        }
        let names: [String]
        do { names = try client.interfaces() } catch { throw Failure(description: "nic.interfaces on \(socket): \(error)") }
        guard let chosen = interface ?? names.first else { throw Failure(description: "the NIC server at \(socket) serves no interface") }
        port = try Self.openStackPort(client, chosen, socket: socket)
        self.name = name ?? chosen
        guard self.name.utf8.count <= Int(NETIF_NAME_MAX) else { throw Failure(description: "interface name \(self.name) is too long") }
        link = (try? port.link()) ?? NETIF_LINK_UP
        nif = UnsafeMutablePointer<netif>.allocate(capacity: 1)
        nif.initialize(to: netif())
        nif.pointee.name = UnsafePointer(strdup(self.name))
        let mac = port.mac + [UInt8](repeating: 0, count: 6)
        nif.pointee.info = netif_info(
            mac: (mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]), reserved: 0, mtu: port.mtu, offloads: 0, link: link)
        nif.pointee.transmit = { priv, frame, len in
            let me = Unmanaged<RemoteInterface>.fromOpaque(priv!).takeUnretainedValue()
            return me.transmit(UnsafeRawBufferPointer(start: frame, count: len))
        }
        nif.pointee.rx_return = { _, frame in free(frame) }
        // The registry holds this pointer until unregister, which stop()
        // does before the object can go.
        nif.pointee.priv = Unmanaged.passUnretained(self).toOpaque()
        let r = glue_netif_register(nif)
        guard r == HUSK_OK else {
            port.close()
            free(UnsafeMutableRawPointer(mutating: nif.pointee.name))
            nif.deallocate()
            throw Failure(description: "cannot register interface \(self.name): \(ErrnoName.describe(r))")
        }
        receiver = HostThread.start(name: "nic-remote-rx", blockSignals: true) { [self] in receive() }
    }

    /// How long a stack waits for the interface's stack port when the NIC
    /// server says another stack holds it. A stack that was killed holds
    /// it until the server notices its death: at once on the socket path,
    /// after at most one sleep slice (100 ms, protocol §11) when its reader
    /// sleeps on the call rings' futex. A restart (`husk up` after a
    /// SIGKILL) must not fail for that; two live stacks still get EBUSY.
    static let busyWaitSeconds = 2.0

    private static func openStackPort(_ client: NICServerClient, _ interface: String, socket: String) throws -> NICPort {
        let end = monotonicNanos() + UInt64(busyWaitSeconds * 1e9)
        while true {
            do { return try client.open(interface, monitor: false) } catch {
                if error.status == RPCStatus.busy && monotonicNanos() < end {
                    usleep(50_000)
                    continue
                }
                throw Failure(description: "cannot open interface \(interface) on \(socket): \(error)")
            }
        }
    }

    public var mac: [UInt8] { port.mac }
    public var mtu: UInt32 { port.mtu }

    /// One frame to the NIC server (the stack's thread: one at a time).
    private func transmit(_ frame: UnsafeRawBufferPointer) -> Int32 {
        do { return try port.send([Array(frame)]) == 1 ? HUSK_OK : HUSK_EIO } catch {
            return error.status == RPCStatus.again ? HUSK_EAGAIN : HUSK_EIO
        }
    }

    /// Frames from the server, each lent to the registry's consumer in a
    /// buffer of its own (returned through rx_return, which frees it).
    private func receive() {
        while !lock.withLock({ stopping }) {
            let got: (frames: [NICPort.Frame], link: UInt32)
            do { got = try port.receive(timeoutMs: 100) } catch {
                if lock.withLock({ stopping }) { return }
                // The NIC server went away: the link is down for the stack.
                noteLink(NETIF_LINK_DOWN)
                usleep(100_000)
                continue
            }
            for f in got.frames {
                guard let buf = malloc(max(f.bytes.count, 1)) else { continue }
                f.bytes.withUnsafeBytes { buf.copyMemory(from: $0.baseAddress!, byteCount: f.bytes.count) }
                if glue_netif_input(nif, buf, f.bytes.count) != HUSK_OK { free(buf) }
            }
            noteLink(got.link)
        }
    }

    private func noteLink(_ state: UInt32) {
        let changed = lock.withLock { () -> Bool in
            defer { link = state }
            return link != state
        }
        if changed { glue_netif_link(nif, state) }
    }

    /// Withdraw the interface (after its consumer has closed it) and close the port.
    public func stop() {
        let t = lock.withLock { () -> HostThread? in
            stopping = true
            defer { receiver = nil }
            return receiver
        }
        t?.join()
        glue_netif_unregister(nif)
        port.close()
        free(UnsafeMutableRawPointer(mutating: nif.pointee.name))
        nif.deinitialize(count: 1)
        nif.deallocate()
    }
}

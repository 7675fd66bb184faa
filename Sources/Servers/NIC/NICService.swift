import Glibc
import GlueAPI
import HypercallABI
import Platform
import RPCInterfaces
import RPCServer
import RPCTransport
import RPCWire

/// The NIC server's behaviour behind the generated NicDispatcher
/// (Interfaces/nic.idl, docs/nic.md): the interfaces are those the server's
/// components registered in the glue's NIC registry when it started.
public final class NICService: NicService, @unchecked Sendable {
    // @unchecked: `served` is immutable after init; each ServedInterface locks itself.
    private let served: [String: ServedInterface]

    /// Open every interface named as the registry's consumer.
    public init(interfaces names: [String]) throws {
        var opened: [String: ServedInterface] = [:]
        for n in names {
            do { opened[n] = try ServedInterface.open(n) } catch {
                for s in opened.values { s.close() }
                throw error
            }
        }
        served = opened
    }

    public var interfaceNames: [String] { served.keys.sorted() }

    /// "MAC, MTU, link" of a served interface, for the server's start-up lines.
    public func describe(_ name: String) -> String {
        guard let iface = served[name] else { return "not served" }
        let info = iface.info()
        let mac = withUnsafeBytes(of: info.mac) { bytes in
            bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
        }
        return "mac \(mac), mtu \(info.mtu), link \(iface.currentLink == NETIF_LINK_UP ? "up" : "down")"
    }

    /// Close every interface in the registry (after the RPC server has stopped).
    public func shutdown() { for s in served.values { s.close() } }

    public func interfaces(_ request: Nic.InterfacesRequest, call: any RPCCall) throws(RPCError) -> Nic.InterfacesReply {
        Nic.InterfacesReply(names: interfaceNames.joined(separator: "\n"))
    }

    public func open(_ request: Nic.OpenRequest, call: any RPCCall) throws(RPCError) -> Nic.OpenReply {
        guard let mode = Nic.PortMode(rawValue: request.mode) else {
            throw RPCError(RPCStatus.inval, "mode must be 1 (stack: send and receive) or 2 (monitor: copies of both directions)")
        }
        guard let iface = served[request.name] else { throw RPCError(RPCStatus.noent, "no interface '\(request.name)'") }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let queue: PortQueue
        switch iface.attach(mode) {
        case .failure(let e): throw e
        case .success(let q): queue = q
        }
        let port = NICPortBinding(interface: iface, queue: queue)
        switch ctx.openObjectConnection(name: request.name, binding: port) {
        case .failure(let e):
            port.close()
            throw e
        case .success(let fd): return Nic.OpenReply(port: fd)
        }
    }

    public func getInfo(_ request: Nic.GetInfoRequest, call: any RPCCall) throws(RPCError) -> Nic.GetInfoReply {
        let port = try port(of: call)
        let info = port.interface.info()
        return Nic.GetInfoReply(
            mac: withUnsafeBytes(of: info.mac) { Array($0) }, mtu: info.mtu, link: port.interface.currentLink,
            offloads: info.offloads)
    }

    /// Frames packed back to back in the region, `lengths` giving each size.
    /// Sends in order and stops at the first failure: the reply counts the
    /// frames sent; a failure of the very first frame is the call's error.
    public func send(_ request: Nic.SendRequest, call: any RPCCall) throws(RPCError) -> Nic.SendReply {
        let port = try port(of: call)
        guard port.queue.mode == .stack else {
            throw RPCError(RPCStatus.badf, "a monitor port cannot send: open the interface with mode 1")
        }
        let lengths = request.lengths
        guard !lengths.isEmpty, lengths.count <= Nic.Limits.sendFrames else {
            throw RPCError(RPCStatus.inval, "send: 1...\(Nic.Limits.sendFrames) frames per call")
        }
        let maxFrame = Int(NETIF_HEADER_LEN + NETIF_VLAN_LEN) + Int(port.interface.info().mtu)
        var total: UInt64 = 0
        for (i, l) in lengths.enumerated() {
            guard l >= NETIF_HEADER_LEN, Int(l) <= maxFrame else {
                throw RPCError(
                    RPCStatus.inval,
                    "send: frame \(i) is \(l) bytes; frames are \(NETIF_HEADER_LEN)...\(maxFrame) bytes on \(port.interface.name)")
            }
            total += UInt64(l)
        }
        guard total <= request.frames.length else {
            throw RPCError(
                RPCStatus.inval,
                "send: the frames add up to \(total) bytes, more than the \(request.frames.length) bytes of the region given")
        }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        // The frames go to the driver straight from the client's memory: the
        // server does not parse them, and the driver copies before returning.
        let mapped = ctx.withSharedMemory(request.frames, writable: false) { region -> (UInt32, Int32) in
            var offset = 0
            var sent: UInt32 = 0
            for l in lengths {
                let r = port.interface.send(UnsafeRawBufferPointer(rebasing: region[offset..<offset + Int(l)]))
                if r != HUSK_OK { return (sent, r) }
                sent += 1
                offset += Int(l)
            }
            return (sent, HUSK_OK)
        }
        switch mapped {
        case .failure(let e): throw e
        case .success((0, let r)) where r != HUSK_OK: throw RPCError(r, "send on \(port.interface.name) failed")
        case .success((let sent, _)): return Nic.SendReply(sent: sent)
        }
    }

    /// Frames copied back to back into the region; waits up to timeout_ms
    /// for the first one (0: do not wait). Returns early, possibly with no
    /// frame, when the link changes.
    public func receive(_ request: Nic.ReceiveRequest, call: any RPCCall) throws(RPCError) -> Nic.ReceiveReply {
        let port = try port(of: call)
        let maxFrame = UInt64(NETIF_HEADER_LEN + NETIF_VLAN_LEN + port.interface.info().mtu)
        guard request.frames.length >= maxFrame else {
            throw RPCError(
                RPCStatus.inval,
                "receive: the region must hold one whole frame, \(maxFrame) bytes on \(port.interface.name); \(request.frames.length) given"
            )
        }
        guard request.timeoutMs <= Nic.Limits.maxTimeoutMs else {
            throw RPCError(RPCStatus.inval, "receive: timeout_ms is at most \(Nic.Limits.maxTimeoutMs)")
        }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let deadline = monotonicNanos() + UInt64(request.timeoutMs) * 1_000_000
        let frames = port.queue.take(capacity: Int(request.frames.length), deadline: deadline) {
            call.isCancelled || RPCWorkerThread.cancelPending
        }
        let link = port.interface.currentLink
        if frames.isEmpty { return Nic.ReceiveReply(lengths: [], flags: [], times: [], link: link) }
        let mapped = ctx.withSharedMemory(request.frames, writable: true) { region in
            var offset = 0
            for f in frames {
                f.bytes.withUnsafeBytes { (region.baseAddress! + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                offset += f.bytes.count
            }
        }
        // Frames taken but not delivered are lost, as on a real NIC whose
        // consumer vanished; the error says why.
        if case .failure(let e) = mapped { throw e }
        return Nic.ReceiveReply(
            lengths: frames.map { UInt32($0.bytes.count) }, flags: frames.map(\.flags), times: frames.map(\.time), link: link)
    }

    public func stats(_ request: Nic.StatsRequest, call: any RPCCall) throws(RPCError) -> Nic.StatsReply {
        Nic.StatsReply(counters: try port(of: call).interface.statistics)
    }

    public func close(_ request: Nic.CloseRequest, call: any RPCCall) throws(RPCError) -> Nic.CloseReply {
        try port(of: call).close()
        return Nic.CloseReply()
    }

    private func port(of call: any RPCCall) throws(RPCError) -> NICPortBinding {
        guard let ctx = call as? any RPCServerCallContext, let port = ctx.objectBinding as? NICPortBinding else {
            throw RPCError(RPCStatus.badf, "not a port descriptor: call this on the descriptor nic.open returned")
        }
        if port.isClosed { throw RPCError(RPCStatus.badf, "port closed") }
        return port
    }
}

/// What `open` binds a port descriptor to. Detached from its interface on
/// close, or when the descriptor's connection goes (the client died), so a
/// dead stack never keeps the interface busy.
final class NICPortBinding: @unchecked Sendable {
    // @unchecked: `closed` behind `lock`; the rest immutable.
    let interface: ServedInterface
    let queue: PortQueue
    private let lock = Monitor()
    private var closed = false

    init(interface: ServedInterface, queue: PortQueue) {
        self.interface = interface
        self.queue = queue
    }

    var isClosed: Bool { lock.withLock { closed } }

    func close() {
        let first = lock.withLock { () -> Bool in
            defer { closed = true }
            return !closed
        }
        if first { interface.detach(queue) }
    }

    deinit { close() }
}

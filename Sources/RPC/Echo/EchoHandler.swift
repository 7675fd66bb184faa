import Glibc
import Platform
import RPCInterfaces
import RPCServer
import RPCTransport
import RPCWire

/// The echo interface's server (Interfaces/echo.idl): the generated
/// EchoDispatcher decodes and encodes; EchoService below is the behaviour.
public final class EchoHandler: RPCInterfaceHandler, @unchecked Sendable {
    // @unchecked: immutable after init; the service guards its own state.
    public static let id: UInt32 = Echo.interfaceID
    public static let version: UInt32 = Echo.interfaceVersion
    public enum Op {
        public static let ping = Echo.Operation.ping.rawValue, echo = Echo.Operation.echo.rawValue
        public static let stat = Echo.Operation.stat.rawValue, sleep = Echo.Operation.sleep.rawValue
        public static let checksum = Echo.Operation.checksum.rawValue, raise = Echo.Operation.raise.rawValue
        public static let whoami = Echo.Operation.whoami.rawValue, open = Echo.Operation.open.rawValue
        public static let notify = Echo.Operation.notify.rawValue
    }

    private let dispatcher = EchoDispatcher(EchoBehaviour())

    public init() {}

    public var interfaceID: UInt32 { dispatcher.interfaceID }
    public var interfaceVersion: UInt32 { dispatcher.interfaceVersion }
    public var interfaceName: String { dispatcher.interfaceName }
    public var operationNames: [UInt32: String] { dispatcher.operationNames }

    public func dispatch(operation: UInt32, payload: UnsafeRawBufferPointer, call: any RPCCall) -> RPCReplyBody {
        dispatcher.dispatch(operation: operation, payload: payload, call: call)
    }

    /// ping and stat neither block nor touch a component: they run on the
    /// connection's reader thread (no hand-off to a worker).
    public func runsInline(operation: UInt32) -> Bool {
        operation == Op.ping || operation == Op.stat
    }
}

/// What each echo operation does.
final class EchoBehaviour: EchoService, @unchecked Sendable {
    // @unchecked: `calls` is only touched under `lock`; the rest is immutable.
    private let started = monotonicNanos()
    private let lock = Monitor()
    private var calls: UInt64 = 0

    private func count() -> UInt64 {
        lock.withLock {
            calls += 1
            return calls
        }
    }

    func ping(_ request: Echo.PingRequest, call: any RPCCall) throws(RPCError) -> Echo.PingReply {
        _ = count()
        return Echo.PingReply()
    }

    func echo(_ request: Echo.EchoRequest, call: any RPCCall) throws(RPCError) -> Echo.EchoReply {
        _ = count()
        return Echo.EchoReply(data: request.data)
    }

    func stat(_ request: Echo.StatRequest, call: any RPCCall) throws(RPCError) -> Echo.StatReply {
        let n = count()
        return Echo.StatReply(uptimeNs: monotonicNanos() - started, calls: n)
    }

    func sleep(_ request: Echo.SleepRequest, call: any RPCCall) throws(RPCError) -> Echo.SleepReply {
        _ = count()
        // Small steps, so that a cancel is seen within ~2 ms: the call's
        // flag, or the worker thread's hypercall cancellation flag.
        let start = monotonicNanos()
        let end = start + UInt64(request.ms) * 1_000_000
        while true {
            if call.isCancelled || RPCWorkerThread.cancelPending { throw RPCError(RPCStatus.intr) }
            let now = monotonicNanos()
            if now >= end { break }
            usleep(useconds_t(min(2_000, (end - now) / 1_000 + 1)))
        }
        return Echo.SleepReply(sleptMs: UInt32((monotonicNanos() - start) / 1_000_000))
    }

    func checksum(_ request: Echo.ChecksumRequest, call: any RPCCall) throws(RPCError) -> Echo.ChecksumReply {
        _ = count()
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        // Checksummed in place: nothing here is validated, so the client
        // changing the bytes meanwhile only changes its own answer.
        switch ctx.withSharedMemory(request.data, writable: false, { CRC32C.checksum(UnsafeRawBufferPointer($0)) }) {
        case .failure(let e): throw RPCError(e.status)
        case .success(let crc): return Echo.ChecksumReply(crc32c: crc, length: request.data.length)
        }
    }

    func raise(_ request: Echo.RaiseRequest, call: any RPCCall) throws(RPCError) -> Echo.RaiseReply {
        _ = count()
        guard request.signal >= 1 && request.signal <= 64 else { throw RPCError(RPCStatus.inval) }
        call.raiseSignal(Int32(request.signal))
        return Echo.RaiseReply()
    }

    func whoami(_ request: Echo.WhoamiRequest, call: any RPCCall) throws(RPCError) -> Echo.WhoamiReply {
        _ = count()
        let id = call.identity
        return Echo.WhoamiReply(uid: id.uid, gid: id.gid, groups: id.groups)
    }

    /// Reply at once; `delay_ms` later, post an EVENT (interface echo,
    /// operation notify, payload `u32 signal`, header signal = `signal`) to
    /// the calling connection: a SIGIO-style notification.
    func notify(_ request: Echo.NotifyRequest, call: any RPCCall) throws(RPCError) -> Echo.NotifyReply {
        _ = count()
        guard request.signal <= 64 else { throw RPCError(RPCStatus.inval) }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let channel = ctx.eventChannel()
        let delay = request.delayMs, signal = request.signal
        HostThread.start(name: "echo-notify", detached: true, blockSignals: true) {
            usleep(useconds_t(min(delay, 3_600_000)) * 1_000)
            var w = PayloadWriter()
            w.u32(signal)
            channel.post(interface: Echo.interfaceID, operation: Echo.Operation.notify.rawValue, payload: w.bytes, signal: Int32(signal))
        }
        return Echo.NotifyReply()
    }

    func open(_ request: Echo.OpenRequest, call: any RPCCall) throws(RPCError) -> Echo.OpenReply {
        _ = count()
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        switch ctx.openObjectConnection(name: request.name) {
        case .failure(let e): throw RPCError(e.status)
        case .success(let fd): return Echo.OpenReply(object: fd)
        }
    }
}

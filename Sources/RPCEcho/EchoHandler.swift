import Glibc
import RPCServer
import RPCTransport
import RPCWire

/// The echo interface (Interfaces/echo.idl), written by hand until the IDL
/// compiler generates EchoDispatcher. Wire layout per docs/protocol.md §5:
/// positional little-endian fields, bytes/string = u32 length + bytes,
/// shm = shm_ref (u32 id, u32 0, u64 offset, u64 length), fd = the next
/// descriptor (nothing in the payload), [u32] = u32 count + elements.
public final class EchoHandler: RPCInterfaceHandler, @unchecked Sendable {
    // @unchecked: `calls` is only touched under `lock`; the rest is immutable.
    public static let id: UInt32 = 1
    public static let version: UInt32 = 1
    public enum Op {
        public static let ping: UInt32 = 1, echo: UInt32 = 2, stat: UInt32 = 3, sleep: UInt32 = 4
        public static let checksum: UInt32 = 5, raise: UInt32 = 6, whoami: UInt32 = 7, open: UInt32 = 8
    }

    public let interfaceID = EchoHandler.id
    public let interfaceVersion = EchoHandler.version
    public let interfaceName = "echo"
    public let operationNames: [UInt32: String] = [1: "ping", 2: "echo", 3: "stat", 4: "sleep", 5: "checksum",
                                                   6: "raise", 7: "whoami", 8: "open"]
    private let started = monotonicNanos()
    private let lock = Monitor()
    private var calls: UInt64 = 0

    public init() {}

    public func dispatch(operation: UInt32, payload: UnsafeRawBufferPointer, call: any RPCCall) -> RPCReplyBody {
        let n = lock.withLock { calls += 1; return calls }
        var r = PayloadReader(payload)
        var w = PayloadWriter()
        switch operation {
        case Op.ping:
            guard r.isAtEnd else { return .error(RPCStatus.inval) }
        case Op.echo:
            guard let data = r.bytes(), r.isAtEnd else { return .error(RPCStatus.inval) }
            w.bytes(data)
        case Op.stat:
            guard r.isAtEnd else { return .error(RPCStatus.inval) }
            w.u64(monotonicNanos() - started)
            w.u64(n)
        case Op.sleep:
            guard let ms = r.u32(), r.isAtEnd else { return .error(RPCStatus.inval) }
            // Small steps, so that a cancel is seen within ~2 ms: the call's
            // flag, or the worker thread's hypercall cancellation flag.
            let start = monotonicNanos()
            let end = start + UInt64(ms) * 1_000_000
            while true {
                if call.isCancelled || RPCWorkerThread.cancelPending { return .error(RPCStatus.intr) }
                let now = monotonicNanos()
                if now >= end { break }
                usleep(useconds_t(min(2_000, (end - now) / 1_000 + 1)))
            }
            w.u32(UInt32((monotonicNanos() - start) / 1_000_000))
        case Op.checksum:
            guard let ref = r.shm(), r.isAtEnd else { return .error(RPCStatus.inval) }
            guard let ctx = call as? any RPCServerCallContext else { return .error(RPCStatus.notsup) }
            switch ctx.copySharedMemory(ref) {
            case .failure(let e): return .error(e.status)
            case .success(let bytes):
                w.u32(CRC32C.checksum(bytes))
                w.u64(UInt64(bytes.count))
            }
        case Op.raise:
            guard let sig = r.u32(), r.isAtEnd else { return .error(RPCStatus.inval) }
            guard sig >= 1 && sig <= 64 else { return .error(RPCStatus.inval) }
            call.raiseSignal(Int32(sig))
        case Op.whoami:
            guard r.isAtEnd else { return .error(RPCStatus.inval) }
            let id = call.identity
            w.u32(id.uid); w.u32(id.gid)
            w.u32(UInt32(id.groups.count))
            for g in id.groups { w.u32(g) }
        case Op.open:
            guard let name = r.string(), r.isAtEnd else { return .error(RPCStatus.inval) }
            guard let ctx = call as? any RPCServerCallContext else { return .error(RPCStatus.notsup) }
            switch ctx.openObjectConnection(name: name) {
            case .failure(let e): return .error(e.status)
            case .success(let fd): return RPCReplyBody(status: 0, payload: [], descriptors: [fd])
            }
        default:
            return .error(RPCStatus.nosys)
        }
        return RPCReplyBody(status: 0, payload: w.bytes)
    }
}

import Glibc
import Platform
import RPCEcho
import RPCServer
import RPCSys
import RPCTransport
import RPCWire

/// The server every fuzzed message sequence talks to: the real RPCServer
/// runtime with the echo handler, reached through RPCServer.serveInline over
/// an InMemoryTransport (no socket). One server for the whole process, one
/// connection per sequence.
public enum RPCFuzzServer {
    /// Smaller than the defaults so that every limit is reachable with an
    /// input of at most 256 KiB: replies above 8 KiB are fragmented,
    /// reassembly above 32 KiB gets EMSGSIZE, two 4 KiB memfds fill the
    /// shared memory, eight calls in flight is back-pressure.
    public static let limits: RPCLimits = {
        var l = RPCLimits()
        l.maxMessage = 8192
        l.maxFDs = 8
        l.maxInFlight = 8
        l.maxPayload = 32768
        l.maxSharedMemory = 8192
        return l
    }()

    /// Request id of the PING sent after the sequence (the liveness probe).
    public static let probeRequestID: UInt64 = 0x7072_6F62_6570_696E

    /// The identity of every fuzzed connection (this process's).
    public static let identity = PeerIdentity(uid: getuid(), gid: getgid(), groups: [], pid: getpid())

    /// echo.stat is denied to `identity` (so the EACCES path is reachable);
    /// everything else is allowed.
    public static let server: RPCServer = {
        var config = RPCServer.Configuration(name: "fuzz")
        config.limits = limits
        config.minWorkers = 2
        config.maxWorkers = 8
        config.log = { _, _ in }
        var policy = AccessPolicy.allowAll
        policy.allow("echo.stat", uids: [identity.uid == 65534 ? 65533 : 65534])
        config.policy = policy
        return RPCServer(configuration: config, handlers: [SleepClampedEcho()])
    }()
}

/// EchoHandler with one change for fuzzing: `sleep` sleeps at most 1 ms
/// (a 4-byte payload's value is clamped before the real handler decodes it),
/// so that a fuzz input cannot stall the run for 2^32 ms. Every other byte
/// goes to EchoHandler.dispatch unchanged.
final class SleepClampedEcho: RPCInterfaceHandler {
    let inner = EchoHandler()
    var interfaceID: UInt32 { inner.interfaceID }
    var interfaceVersion: UInt32 { inner.interfaceVersion }
    var interfaceName: String { inner.interfaceName }
    var operationNames: [UInt32: String] { inner.operationNames }

    func dispatch(operation: UInt32, payload: UnsafeRawBufferPointer, call: any RPCCall) -> RPCReplyBody {
        guard operation == EchoHandler.Op.sleep, payload.count == 4 else {
            return inner.dispatch(operation: operation, payload: payload, call: call)
        }
        var p = Array(payload)
        if p[0] > 1 || p[1] != 0 || p[2] != 0 || p[3] != 0 { p = [1, 0, 0, 0] }
        return p.withUnsafeBytes { inner.dispatch(operation: operation, payload: $0, call: call) }
    }
}

/// What happened to one message sequence (see runMessageSequence).
public struct SequenceOutcome: Sendable {
    /// Records in the input.
    public var records = 0
    /// Records the server read before it stopped reading.
    public var recordsRead = 0
    /// Every message the server sent, in order.
    public var sent: [InMemoryTransport.Sent] = []
    /// A HELLO got a successful reply.
    public var helloAccepted = false
    /// The connection was still reading after the last record, so the probe
    /// PING was sent ...
    public var probeSent = false
    /// ... and this is the header of the server's answer to it.
    public var probeReply: RPCHeader?
    /// Broken invariants (empty when all is well).
    public var violations: [String] = []
}

/// Mutable state of one sequence, touched only by the connection's reader
/// (which runs on the thread that called runMessageSequence).
private final class Feeder: @unchecked Sendable {
    let records: [FuzzRecord]
    let probe: Bool
    var index = 0
    var probeSent = false
    var peerClosed = false
    var sentBeforeProbe = 0
    weak var transport: InMemoryTransport?

    init(records: [FuzzRecord], probe: Bool) {
        self.records = records
        self.probe = probe
    }

    func next() -> InMemoryTransport.Incoming {
        if peerClosed { return .closed }
        if index < records.count {
            let r = records[index]
            index += 1
            peerClosed = r.closeAfter
            let fds = (0..<r.descriptorCount).compactMap { _ in makeDescriptor(r.descriptorKind) }
            return .message(r.message, descriptors: fds, controlTruncated: r.controlTruncated)
        }
        if probe && !probeSent {
            // Let the calls finish first, so that what the replies say does
            // not depend on thread timing.
            let server = RPCFuzzServer.server
            let end = monotonicNanos() + 10_000_000_000
            while server.callsInFlight > 0 && monotonicNanos() < end { usleep(50) }
            probeSent = true
            sentBeforeProbe = transport?.sent.count ?? 0
            let h = RPCHeader(
                interface: RPCControl.interface, operation: RPCControl.Operation.ping.rawValue, requestID: RPCFuzzServer.probeRequestID)
            return .message(h.encoded(), descriptors: [], controlTruncated: false)
        }
        return .closed
    }
}

private func makeDescriptor(_ kind: FuzzDescriptorKind) -> Int32? {
    if kind == .devNull {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }
    let fd = husk_rpc_memfd("husk-fuzz")
    guard fd >= 0 else { return nil }
    if kind != .emptyMemfd {
        guard ftruncate(fd, 4096) == 0 else {
            close(fd)
            return nil
        }
        var pattern: UInt64 = 0x4855_534B_4655_5A5A
        _ = pwrite(fd, &pattern, 8, 100)
    }
    if kind != .unsealedMemfd {
        _ = husk_rpc_add_seals(fd, husk_rpc_seal_shrink() | husk_rpc_seal_grow())
    }
    return fd
}

/// Feed the records of `data` (FuzzInput format) to a new connection of the
/// fuzz server, then, if it is still reading, wait for its calls to reply
/// and send a PING (the probe); then close it like a peer would (or earlier,
/// right after a record marked `closeAfter`, with calls in flight), wait until it and any object connection it opened
/// have closed, and check the invariants. Never traps on any input; broken
/// invariants are returned in `violations`.
public func runMessageSequence(_ data: UnsafeRawBufferPointer, probe: Bool = true, timeout: Double = 10) -> SequenceOutcome {
    let server = RPCFuzzServer.server
    let records = FuzzInput.parse(data)
    let feeder = Feeder(records: records, probe: probe)
    let transport = InMemoryTransport(
        maxMessage: Int(RPCFuzzServer.limits.maxMessage),
        maxDescriptors: Int(RPCFuzzServer.limits.maxFDs),
        peerIdentity: RPCFuzzServer.identity
    ) { feeder.next() }
    feeder.transport = transport
    var out = SequenceOutcome()
    out.records = records.count

    if !server.serveInline(transport, identity: RPCFuzzServer.identity, timeout: timeout) {
        out.violations.append("connection not closed within \(timeout) s of the end of input (a call never replied?)")
    }
    // Object connections opened by echo.open close when their client end
    // (closed once the reply was sent) is gone.
    let end = monotonicNanos() + UInt64(timeout * 1e9)
    while server.connectionCount > 0 && monotonicNanos() < end { usleep(200) }
    if server.connectionCount > 0 { out.violations.append("\(server.connectionCount) connection(s) still open after \(timeout) s") }

    out.recordsRead = min(feeder.index, records.count)
    out.sent = transport.sent
    out.probeSent = feeder.probeSent
    checkReplies(&out, probeStart: feeder.sentBeforeProbe, records: records)
    return out
}

private func checkReplies(_ out: inout SequenceOutcome, probeStart: Int, records: [FuzzRecord]) {
    let limits = RPCFuzzServer.limits
    for (i, m) in out.sent.enumerated() {
        let decoded = m.bytes.withUnsafeBytes { RPCHeader.decode($0, messageLength: m.bytes.count, fdsReceived: m.descriptorCount) }
        guard case .success(let h) = decoded else {
            out.violations.append("sent message \(i) does not decode: \(decoded)")
            continue
        }
        if m.bytes.count > Int(limits.maxMessage) { out.violations.append("sent message \(i) is \(m.bytes.count) bytes") }
        if h.flags.subtracting([.reply, .more]) != [] || !h.flags.contains(.reply) {
            out.violations.append("sent message \(i) has flags 0x\(String(h.flags.rawValue, radix: 16))")
        }
        if h.requestID == 0 { out.violations.append("sent message \(i) has request id 0") }
        if h.status < 0 { out.violations.append("sent message \(i) has status \(h.status)") }
        if h.status != 0 && (h.payloadLength != 0 || m.descriptorCount != 0 || h.flags.contains(.more)) {
            out.violations.append("error reply \(i) (\(RPCStatus.name(h.status))) carries a payload or descriptors")
        }
        if h.interface == RPCControl.interface && h.operation == RPCControl.Operation.hello.rawValue && h.status == 0 {
            out.helloAccepted = true
        }
        if i >= probeStart && out.probeSent && out.probeReply == nil
            && h.interface == RPCControl.interface && h.operation == RPCControl.Operation.ping.rawValue
            && h.requestID == RPCFuzzServer.probeRequestID
        {
            out.probeReply = h
        }
    }
    // The probe's request id used by the input itself (e.g. a pending
    // fragment with that id) makes the probe something else: no check.
    let probeIDUsed = records.contains { r in
        r.message.count >= 24
            && r.message[16..<24].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                == RPCFuzzServer.probeRequestID.littleEndian
    }
    if out.probeSent && !probeIDUsed {
        if let p = out.probeReply {
            let want = out.helloAccepted ? RPCStatus.ok : RPCStatus.proto
            if p.status != want {
                out.violations.append("probe PING answered \(RPCStatus.name(p.status)), expected \(RPCStatus.name(want))")
            }
        } else {
            out.violations.append("the connection read the probe PING but did not answer it")
        }
    }
}

/// The fuzz entry for message sequences: runMessageSequence, trapping on any
/// broken invariant (so libFuzzer reports it as a crash).
public func fuzzOneMessageSequence(_ data: UnsafeRawBufferPointer) {
    let out = runMessageSequence(data)
    if !out.violations.isEmpty {
        fatalError("RPC fuzz invariant broken: " + out.violations.joined(separator: "; "))
    }
}

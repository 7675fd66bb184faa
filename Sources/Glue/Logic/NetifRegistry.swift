import GlueAPI
import HypercallABI

/// A registered interface as the glue sees it.
final class NetifRecord: @unchecked Sendable {
    // @unchecked: every var is guarded by Netifs' lock; `nif` points at the
    // provider's struct, valid until unregister returns (the API contract).
    let nif: UnsafePointer<netif>
    let name: String
    let ctx: UInt
    var info: netif_info
    var alive = true
    var consumer: NetifReference?
    /// Calls inside the provider's transmit.
    var transmitting = 0
    /// Frames lent to the consumer and not yet back.
    var lent = 0

    init(_ n: UnsafePointer<netif>, name: String, ctx: UInt) {
        nif = n
        self.name = name
        self.ctx = ctx
        info = n.pointee.info
    }

    /// The largest frame: header, one VLAN tag, MTU.
    var maxFrame: Int { Int(NETIF_HEADER_LEN + NETIF_VLAN_LEN) + Int(info.mtu) }
}

/// A consumer's open interface (struct netif_ref *).
final class NetifReference: @unchecked Sendable {
    // @unchecked: `open`, `held` and `inCallback` are guarded by Netifs'
    // lock; the rest is immutable.
    let record: NetifRecord
    let consumer: netif_consumer
    let ctx: UInt
    var open = true
    /// Frames this consumer holds (addresses), for rx_done checks and close.
    var held: Set<UInt> = []
    /// Callbacks of this consumer running now (close waits for them).
    var inCallback = 0

    init(_ r: NetifRecord, consumer: netif_consumer, ctx: UInt) {
        record = r
        self.consumer = consumer
        self.ctx = ctx
    }
}

/// The interface registry behind husk/glue/netif.h.
final class Netifs: Sendable {
    struct State {
        var interfaces: [String: NetifRecord] = [:]
    }
    static let shared = Netifs()
    private let state = GlueLock("glue.netif", State())

    func withLock<T>(_ body: (inout State) -> T) -> T {
        state.withLock { s in
            // Only @unchecked Sendable records and plain values leave the lock.
            nonisolated(unsafe) let v = body(&s)
            return v
        }
    }

    // MARK: providers

    func register(_ n: UnsafePointer<netif>, ctx: OpaquePointer?) -> Int32 {
        let d = n.pointee
        guard let cname = d.name, d.transmit != nil, d.rx_return != nil,
            disk_name_valid(cname, Int(NETIF_NAME_MAX)),
            d.info.mtu >= NETIF_MTU_MIN, d.info.mtu <= NETIF_MTU_MAX,
            d.info.link == NETIF_LINK_DOWN || d.info.link == NETIF_LINK_UP
        else { return HUSK_EINVAL }
        let rec = NetifRecord(n, name: String(cString: cname), ctx: ctx.map(ctxKey) ?? 0)
        return withLock { s in
            if s.interfaces[rec.name] != nil { return HUSK_EEXIST }
            s.interfaces[rec.name] = rec
            return HUSK_OK
        }
    }

    func unregister(_ n: UnsafePointer<netif>, ctx: OpaquePointer?) {
        let rec = withLock { s -> NetifRecord? in
            guard let (name, r) = s.interfaces.first(where: { $0.value.nif == n }) else { return nil }
            s.interfaces.removeValue(forKey: name)
            r.alive = false
            return r
        }
        guard let rec else { return }
        // The consumer keeps its reference (sends now fail with ENODEV) but
        // receives nothing more; frames it holds come back as it returns them.
        while withLock({ _ in rec.transmitting + rec.lent }) > 0 {
            _ = Hyp.table.pointee.sleep_ns!(ctx, 100_000)
        }
    }

    private enum Admission {
        case unknown, badLength, noConsumer
        case admitted(NetifReference, netif_consumer)
    }

    func input(_ n: UnsafePointer<netif>, frame: UnsafeMutableRawPointer?, len: Int) -> Int32 {
        let admission = withLock { s -> Admission in
            guard let rec = s.interfaces.values.first(where: { $0.nif == n }) else { return .unknown }
            guard let frame, len >= Int(NETIF_HEADER_LEN), len <= rec.maxFrame else { return .badLength }
            guard let ref = rec.consumer, ref.open else { return .noConsumer }
            ref.held.insert(UInt(bitPattern: frame))
            rec.lent += 1
            ref.inCallback += 1
            return .admitted(ref, ref.consumer)
        }
        switch admission {
        case .unknown: return HUSK_ENODEV
        case .badLength: return HUSK_EINVAL
        case .noConsumer: return HUSK_ENOENT
        case .admitted(let ref, let consumer):
            consumer.input(consumer.arg, frame, len)
            withLock { _ in ref.inCallback -= 1 }
            return HUSK_OK
        }
    }

    func link(_ n: UnsafePointer<netif>, state link: UInt32) {
        let found = withLock { s -> (NetifReference?, netif_consumer?) in
            guard let rec = s.interfaces.values.first(where: { $0.nif == n }) else { return (nil, nil) }
            rec.info.link = link
            guard let ref = rec.consumer, ref.open, ref.consumer.link != nil else { return (nil, nil) }
            ref.inCallback += 1
            return (ref, ref.consumer)
        }
        guard let ref = found.0, let consumer = found.1 else { return }
        consumer.link?(consumer.arg, link)
        withLock { _ in ref.inCallback -= 1 }
    }

    // MARK: consumers

    func open(_ name: String, consumer: netif_consumer, ctx: OpaquePointer?) -> Result<NetifReference, HypErrorCode> {
        withLock { s in
            guard let rec = s.interfaces[name] else { return .failure(HypErrorCode(HUSK_ENOENT)) }
            if let c = rec.consumer, c.open { return .failure(HypErrorCode(HUSK_EBUSY)) }
            let ref = NetifReference(rec, consumer: consumer, ctx: ctx.map(ctxKey) ?? 0)
            rec.consumer = ref
            return .success(ref)
        }
    }

    func close(_ ref: NetifReference, ctx: OpaquePointer?) {
        let wasOpen = withLock { _ -> Bool in
            let was = ref.open
            ref.open = false
            return was
        }
        guard wasOpen else { Hyp.panic(ctx, "netif_close: interface '\(ref.record.name)' closed twice") }
        while withLock({ _ in ref.inCallback }) > 0 { _ = Hyp.table.pointee.sleep_ns!(ctx, 100_000) }
        let frames = withLock { _ -> [UInt] in
            let f = Array(ref.held)
            ref.held = []
            if ref.record.consumer === ref { ref.record.consumer = nil }
            return f
        }
        for f in frames { giveBack(ref.record, frame: UnsafeMutableRawPointer(bitPattern: f)!) }
    }

    func send(_ ref: NetifReference, frame: UnsafeRawPointer?, len: Int) -> Int32 {
        let rec = ref.record
        guard let frame, len >= Int(NETIF_HEADER_LEN) else { return HUSK_EINVAL }
        let ok = withLock { _ -> Int32 in
            guard ref.open else { return HUSK_EBADF }
            guard rec.alive else { return HUSK_ENODEV }
            guard len <= rec.maxFrame else { return HUSK_EINVAL }
            rec.transmitting += 1
            return HUSK_OK
        }
        guard ok == HUSK_OK else { return ok }
        let n = rec.nif.pointee
        let r = n.transmit!(n.priv, frame, len)
        withLock { _ in rec.transmitting -= 1 }
        return r
    }

    func rxDone(_ ref: NetifReference, frame: UnsafeMutableRawPointer?, ctx: OpaquePointer?) {
        guard let frame else { Hyp.panic(ctx, "netif_rx_done: NULL frame") }
        let held = withLock { _ in ref.held.remove(UInt(bitPattern: frame)) != nil }
        guard held else {
            Hyp.panic(ctx, "netif_rx_done: frame \(frame) on '\(ref.record.name)' is not held (returned twice?)")
        }
        giveBack(ref.record, frame: frame)
    }

    /// The frame goes back to the provider; unregister counts it as returned.
    private func giveBack(_ rec: NetifRecord, frame: UnsafeMutableRawPointer) {
        let n = rec.nif.pointee
        n.rx_return!(n.priv, frame)
        withLock { _ in rec.lent -= 1 }
    }

    func info(_ ref: NetifReference) -> netif_info { withLock { _ in ref.record.info } }

    func names() -> [String] { withLock { s in s.interfaces.keys.sorted() } }

    /// A finished component: close its interfaces, withdraw what it provided.
    func releaseAll(of ctx: OpaquePointer) {
        let (provided, opened) = withLock { s in
            (
                s.interfaces.values.filter { $0.ctx == ctxKey(ctx) }.map { ($0.nif, $0.name) },
                s.interfaces.values.compactMap { r in r.consumer.flatMap { $0.open && $0.ctx == ctxKey(ctx) ? $0 : nil } }
            )
        }
        for ref in opened {
            Hyp.log(ctx, HUSK_LOG_WARN, "glue: interface '\(ref.record.name)' still open; closing it")
            close(ref, ctx: ctx)
            Unmanaged.passUnretained(ref).release()
        }
        for (n, name) in provided {
            Hyp.log(ctx, HUSK_LOG_WARN, "glue: interface '\(name)' still registered; withdrawing it")
            unregister(n, ctx: ctx)
        }
    }
}

/// An ABI error code as a Swift Error (for Result).
struct HypErrorCode: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}

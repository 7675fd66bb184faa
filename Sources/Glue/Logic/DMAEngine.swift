import GlueAPI
import HypercallABI

/// A registered engine as the glue sees it.
final class EngineRecord: @unchecked Sendable {
    // @unchecked: `alive` and `activeCalls` are guarded by DMAEngines' lock;
    // the rest is immutable. `engine` points at the provider's struct, which
    // stays valid until unregister returns (the API contract).
    let engine: UnsafePointer<dma_engine>
    let ctx: UInt
    let name: UnsafeMutablePointer<CChar>  // our copy, outlives the provider's
    let maxLen: UInt64
    let maxBusAddr: UInt64
    var alive = true
    var activeCalls = 0

    init(_ e: UnsafePointer<dma_engine>, ctx: UInt) {
        engine = e
        self.ctx = ctx
        let s = String(cString: e.pointee.name)
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: s.utf8.count + 1)
        s.withCString { copy.initialize(from: $0, count: s.utf8.count + 1) }
        name = copy
        maxLen = e.pointee.max_len
        maxBusAddr = e.pointee.max_bus_addr
    }
    deinit { name.deallocate() }
}

/// A client's channel (struct dma_chan *): a reference to one engine
/// record, valid after the engine has gone.
final class DMAChannel: @unchecked Sendable {
    // @unchecked: immutable.
    let record: EngineRecord
    let ctx: UInt
    init(_ r: EngineRecord, ctx: UInt) {
        record = r
        self.ctx = ctx
    }
}

final class DMAEngines: Sendable {
    struct State {
        var engines: [String: EngineRecord] = [:]
        var channels: [ObjectIdentifier: DMAChannel] = [:]
    }
    static let shared = DMAEngines()
    private let state = GlueLock("glue.dmaengine", State())

    func withLock<T>(_ body: (inout State) -> T) -> T {
        state.withLock { s in
            // Only @unchecked Sendable records and plain values leave the lock.
            nonisolated(unsafe) let v = body(&s)
            return v
        }
    }

    func register(_ e: UnsafePointer<dma_engine>, ctx: OpaquePointer) -> Int32 {
        guard e.pointee.name != nil, e.pointee.copy != nil else { return HUSK_EINVAL }
        let rec = EngineRecord(e, ctx: ctxKey(ctx))
        let name = String(cString: rec.name)
        return withLock { s in
            if s.engines[name] != nil { return HUSK_EEXIST }
            s.engines[name] = rec
            return HUSK_OK
        }
    }

    func unregister(_ e: UnsafePointer<dma_engine>, ctx: OpaquePointer?) {
        let rec = withLock { s -> EngineRecord? in
            guard let (name, r) = s.engines.first(where: { $0.value.engine == e }) else { return nil }
            s.engines.removeValue(forKey: name)
            r.alive = false
            return r
        }
        guard let rec else { return }
        // Wait for calls already inside the provider's copy function.
        while withLock({ _ in rec.activeCalls }) > 0 {
            _ = Hyp.table.pointee.sleep_ns!(ctx, 100_000)
        }
    }

    func get(_ name: UnsafePointer<CChar>?, ctx: OpaquePointer) -> DMAChannel? {
        let want = name.map { String(cString: $0) }
        return withLock { s -> DMAChannel? in
            let rec = want.map { s.engines[$0] } ?? s.engines.sorted { $0.key < $1.key }.first?.value
            guard let rec else { return nil }
            let ch = DMAChannel(rec, ctx: ctxKey(ctx))
            s.channels[ObjectIdentifier(ch)] = ch
            return ch
        }
    }

    func put(_ ch: DMAChannel) -> Bool {
        withLock { s in s.channels.removeValue(forKey: ObjectIdentifier(ch)) != nil }
    }

    func copy(
        _ ch: DMAChannel, dst: UInt64, src: UInt64, len: UInt64,
        done: dma_done_fn, arg: UnsafeMutableRawPointer?
    ) -> Int32 {
        let rec = ch.record
        if len == 0 || (rec.maxLen != 0 && len > rec.maxLen) { return HUSK_EINVAL }
        if rec.maxBusAddr != 0 {
            for a in [dst, src] where a > rec.maxBusAddr || len > rec.maxBusAddr - a { return HUSK_EINVAL }
        }
        let ok = withLock { _ -> Bool in
            guard rec.alive else { return false }
            rec.activeCalls += 1
            return true
        }
        guard ok else { return HUSK_ENODEV }
        let e = rec.engine.pointee
        let r = e.copy!(e.priv, dst, src, len, done, arg)
        withLock { _ in rec.activeCalls -= 1 }
        return r
    }

    /// A finished component: withdraw its engines, put back its channels.
    func releaseAll(of ctx: OpaquePointer) {
        let (engines, channels) = withLock { s in
            (
                s.engines.values.filter { $0.ctx == ctxKey(ctx) }.map { $0.engine },
                s.channels.values.filter { $0.ctx == ctxKey(ctx) }
            )
        }
        for e in engines {
            Hyp.log(ctx, HUSK_LOG_WARN, "glue: dma engine '\(String(cString: e.pointee.name))' still registered; withdrawing it")
            unregister(e, ctx: ctx)
        }
        for ch in channels where put(ch) { Unmanaged.passUnretained(ch).release() }
    }
}

// MARK: C entry points (husk/glue/dmaengine.h)

@_cdecl("glue_dma_engine_register")
public func glue_dma_engine_register(_ e: UnsafePointer<dma_engine>?) -> Int32 {
    let ctx = Hyp.current("dma_engine_register")
    guard let e else { return HUSK_EINVAL }
    return DMAEngines.shared.register(e, ctx: ctx)
}

@_cdecl("glue_dma_engine_unregister")
public func glue_dma_engine_unregister(_ e: UnsafePointer<dma_engine>?) {
    guard let e else { return }
    DMAEngines.shared.unregister(e, ctx: Hyp.currentOrNil)
}

@_cdecl("glue_dma_engine_get")
public func glue_dma_engine_get(_ name: UnsafePointer<CChar>?) -> OpaquePointer? {
    let ctx = Hyp.current("dma_engine_get")
    guard let ch = DMAEngines.shared.get(name, ctx: ctx) else { return nil }
    return OpaquePointer(Unmanaged.passRetained(ch).toOpaque())
}

@_cdecl("glue_dma_engine_put")
public func glue_dma_engine_put(_ p: OpaquePointer?) {
    guard let p else { return }
    let ch = DMAChan.get(p)
    guard DMAEngines.shared.put(ch) else { Hyp.panic(Hyp.currentOrNil, "dma_engine_put: channel put twice") }
    Unmanaged.passUnretained(ch).release()
}

@_cdecl("glue_dma_chan_limits")
public func glue_dma_chan_limits(
    _ p: OpaquePointer?, _ maxLen: UnsafeMutablePointer<UInt64>?,
    _ maxBus: UnsafeMutablePointer<UInt64>?
) {
    let ch = DMAChan.get(p)
    maxLen?.pointee = ch.record.maxLen
    maxBus?.pointee = ch.record.maxBusAddr
}

@_cdecl("glue_dma_chan_name")
public func glue_dma_chan_name(_ p: OpaquePointer?) -> UnsafePointer<CChar>? {
    UnsafePointer(DMAChan.get(p).record.name)
}

@_cdecl("glue_dma_engine_copy")
public func glue_dma_engine_copy(
    _ p: OpaquePointer?, _ dst: UInt64, _ src: UInt64, _ len: UInt64,
    _ done: dma_done_fn?, _ arg: UnsafeMutableRawPointer?
) -> Int32 {
    let ch = DMAChan.get(p)
    guard let done else { return HUSK_EINVAL }
    return DMAEngines.shared.copy(ch, dst: dst, src: src, len: len, done: done, arg: arg)
}

enum DMAChan {
    static func get(_ p: OpaquePointer?) -> DMAChannel {
        guard let p else { Hyp.panic(Hyp.currentOrNil, "dma engine channel is NULL") }
        return Unmanaged<DMAChannel>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }
}

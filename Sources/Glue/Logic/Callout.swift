import GlueAPI
import HypercallABI

/// One callout (the object behind a C callout_t's c_glue).
final class Callout: @unchecked Sendable {
    // @unchecked: `fn`, `arg` and `engine` are immutable; every other field
    // is read and written only with engine.monitor held.
    let engine: CalloutEngine
    let fn: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let arg: UnsafeMutableRawPointer?
    var deadline: UInt64 = 0
    var period: UInt64 = 0  // 0: one-shot
    var seq: UInt64 = 0  // FIFO among equal deadlines
    var pending = false  // in engine.queue
    var generation: UInt64 = 0  // bumped by schedule/stop: a running periodic is re-armed only if unchanged
    var releaseWhenDone = false  // destroyed from its own handler

    init(
        engine: CalloutEngine, fn: @escaping @convention(c) (UnsafeMutableRawPointer?) -> Void,
        arg: UnsafeMutableRawPointer?
    ) {
        self.engine = engine
        self.fn = fn
        self.arg = arg
    }
}

/// A component's callout thread and its deadline-ordered queue.
final class CalloutEngine: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `monitor` (a host mutex
    // of the component); `ctx`, `monitor` and `thread` are set before the
    // engine is shared.
    let ctx: OpaquePointer
    let monitor: HypMonitor  // cvs[0]: wake the thread; cvs[1]: a handler finished
    private(set) var thread: husk_handle = 0
    private var queue: [Callout] = []  // sorted by (deadline, seq)
    private(set) var running: Callout?
    private var runnerSelf: husk_handle = 0
    private var nextSeq: UInt64 = 0
    private var stopping = false
    /// Callouts initialised and not yet destroyed: what is left at shutdown
    /// is a leak the component is told about.
    private var live = 0

    private static let wake = 0, idle = 1

    /// Start the component's callout thread; nil if the host refuses.
    static func start(ctx: OpaquePointer) -> CalloutEngine? {
        guard let monitor = HypMonitor(ctx: ctx, name: "callout", conditions: 2) else { return nil }
        let engine = CalloutEngine(ctx: ctx, monitor: monitor)
        let arg = Unmanaged.passRetained(engine).toOpaque()
        var t: husk_handle = 0
        let r = Hyp.table.pointee.thread_create!(
            ctx, "callout",
            { arg in
                Unmanaged<CalloutEngine>.fromOpaque(arg!).takeRetainedValue().run()
            }, arg, UInt32(HUSK_THREAD_JOINABLE), &t)
        if r != HUSK_OK {
            Unmanaged<CalloutEngine>.fromOpaque(arg).release()
            monitor.destroy()
            return nil
        }
        engine.thread = t
        return engine
    }

    private init(ctx: OpaquePointer, monitor: HypMonitor) {
        self.ctx = ctx
        self.monitor = monitor
    }

    /// A new callout of this engine (callout_init).
    func make(fn: @escaping @convention(c) (UnsafeMutableRawPointer?) -> Void, arg: UnsafeMutableRawPointer?) -> Callout {
        monitor.lock()
        live += 1
        monitor.unlock()
        return Callout(engine: self, fn: fn, arg: arg)
    }

    /// True on the callout thread itself (a handler calling back in).
    private var onRunner: Bool { Hyp.table.pointee.thread_self!(ctx) == runnerSelf }

    // MARK: operations (callers hold nothing)

    func schedule(_ c: Callout, delay: UInt64, period: UInt64) {
        monitor.lock()
        _ = unqueue(c)
        c.generation &+= 1
        c.period = period
        c.deadline = Hyp.now(ctx).plusSaturating(delay)
        c.seq = nextSeq
        nextSeq &+= 1
        c.pending = true
        let at = queue.firstIndex { ($0.deadline, $0.seq) > (c.deadline, c.seq) } ?? queue.endIndex
        queue.insert(c, at: at)
        if at == 0 { monitor.signal(Self.wake) }  // the thread sleeps until the old head
        monitor.unlock()
    }

    func stop(_ c: Callout) -> Bool {
        monitor.lock()
        let was = unqueue(c)
        c.generation &+= 1
        monitor.unlock()
        return was
    }

    func halt(_ c: Callout) -> Bool {
        monitor.lock()
        let was = unqueue(c)
        c.generation &+= 1
        if !onRunner {
            while running === c { monitor.wait(Self.idle) }
        }
        monitor.unlock()
        return was
    }

    func pending(_ c: Callout) -> Bool {
        monitor.lock()
        defer { monitor.unlock() }
        return c.pending
    }

    /// Halt, then drop the C struct's reference (now, or when its own
    /// handler returns).
    func destroy(_ c: Callout) {
        monitor.lock()
        live -= 1
        _ = unqueue(c)
        c.generation &+= 1
        if onRunner && running === c {
            c.releaseWhenDone = true
            monitor.unlock()
            return
        }
        while running === c { monitor.wait(Self.idle) }
        monitor.unlock()
        Unmanaged.passUnretained(c).release()
    }

    /// End the thread (the component finished). Pending callouts are
    /// dropped; callouts never destroyed are reported as the component's leak.
    func shutdown() {
        monitor.lock()
        stopping = true
        if live > 0 {
            Hyp.log(ctx, HUSK_LOG_WARN, "glue: \(live) callout(s) never destroyed (\(queue.count) still pending); dropping them")
        }
        for c in queue { c.pending = false }
        queue.removeAll()
        monitor.broadcast(Self.wake)
        monitor.unlock()
        _ = Hyp.table.pointee.thread_join!(ctx, thread)
        monitor.destroy()
    }

    private func unqueue(_ c: Callout) -> Bool {
        guard c.pending else { return false }
        queue.removeAll { $0 === c }
        c.pending = false
        return true
    }

    // MARK: the thread

    private func run() {
        monitor.lock()
        runnerSelf = Hyp.table.pointee.thread_self!(ctx)
        while !stopping {
            guard let first = queue.first else {
                monitor.wait(Self.wake)
                continue
            }
            let now = Hyp.now(ctx)
            if first.deadline > now {
                monitor.wait(Self.wake, until: first.deadline)
                continue
            }
            queue.removeFirst()
            first.pending = false
            running = first
            let generation = first.generation
            monitor.unlock()
            first.fn(first.arg)
            monitor.lock()
            running = nil
            if first.releaseWhenDone {
                Unmanaged.passUnretained(first).release()
            } else if first.period > 0 && first.generation == generation && !first.pending && !stopping {
                rearm(first)
            }
            monitor.broadcast(Self.idle)
        }
        monitor.unlock()
    }

    /// Next deadline of a periodic callout: keep the phase, skip missed periods.
    private func rearm(_ c: Callout) {
        let now = Hyp.now(ctx)
        var next = c.deadline.plusSaturating(c.period)
        if next <= now { next = next.plusSaturating((now - next) / c.period * c.period + c.period) }
        c.deadline = next
        c.seq = nextSeq
        nextSeq &+= 1
        c.pending = true
        let at = queue.firstIndex { ($0.deadline, $0.seq) > (c.deadline, c.seq) } ?? queue.endIndex
        queue.insert(c, at: at)
    }
}

/// The callout engine of each component, started on first callout_init.
final class CalloutEngines: Sendable {
    static let shared = CalloutEngines()
    private let engines = GlueLock<[UInt: CalloutEngine]>("glue.callout", [:])

    func engine(for ctx: OpaquePointer) -> CalloutEngine? {
        engines.withLock { all in
            if let e = all[ctxKey(ctx)] { return e }
            guard let e = CalloutEngine.start(ctx: ctx) else { return nil }
            all[ctxKey(ctx)] = e
            return e
        }
    }

    func stop(of ctx: OpaquePointer) {
        let e = engines.withLock { $0.removeValue(forKey: ctxKey(ctx)) }
        e?.shutdown()
    }
}

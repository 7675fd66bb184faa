import GlueAPI
import HypercallABI

/// A workqueue: FIFO of caller-owned `struct work` items linked through
/// their wk_next fields, served by worker threads of the creating component.
final class WorkQueue: @unchecked Sendable {
    // @unchecked: the list, counters and flags are touched only with
    // `monitor` held; the C work items they point to belong to the queue
    // while queued (the API contract) and are touched under the same lock.
    let ctx: OpaquePointer
    let name: String
    let monitor: HypMonitor  // cvs[0]: work available; cvs[1]: idle
    private var head: UnsafeMutablePointer<work>?
    private var tail: UnsafeMutablePointer<work>?
    private var runningCount = 0
    private var stopping = false
    private var threads: [husk_handle] = []
    private var workerSelves: Set<husk_handle> = []

    private static let workCV = 0, idleCV = 1
    static let queuedBit: UInt32 = 1

    init?(ctx: OpaquePointer, name: String, threads n: Int) {
        guard let m = HypMonitor(ctx: ctx, name: name, conditions: 2) else { return nil }
        self.ctx = ctx
        self.name = name
        monitor = m
        for _ in 0..<n {
            let arg = Unmanaged.passRetained(self).toOpaque()
            var t: husk_handle = 0
            let r = name.withCString {
                Hyp.table.pointee.thread_create!(
                    ctx, $0,
                    { arg in
                        Unmanaged<WorkQueue>.fromOpaque(arg!).takeRetainedValue().worker()
                    }, arg, UInt32(HUSK_THREAD_JOINABLE), &t)
            }
            if r != HUSK_OK {
                Unmanaged<WorkQueue>.fromOpaque(arg).release()
                stopThreads()
                m.destroy()
                return nil
            }
            monitor.lock()
            threads.append(t)
            monitor.unlock()
        }
    }

    /// Queue wk unless it already is; true if queued now.
    func enqueue(_ wk: UnsafeMutablePointer<work>, _ fn: work_fn_t, _ arg: UnsafeMutableRawPointer?) -> Bool {
        monitor.lock()
        defer { monitor.unlock() }
        if stopping { Hyp.panic(ctx, "workqueue_enqueue on workqueue '\(name)' being destroyed") }
        if wk.pointee.wk_state & Self.queuedBit != 0 { return false }
        wk.pointee.wk_fn = fn
        wk.pointee.wk_arg = arg
        wk.pointee.wk_next = nil
        wk.pointee.wk_state |= Self.queuedBit
        if let t = tail { t.pointee.wk_next = wk } else { head = wk }
        tail = wk
        monitor.signal(Self.workCV)
        return true
    }

    func drain() {
        monitor.lock()
        if workerSelves.contains(Hyp.table.pointee.thread_self!(ctx)) {
            Hyp.panic(ctx, "workqueue_drain on '\(name)' from its own worker would deadlock")
        }
        while head != nil || runningCount > 0 { monitor.wait(Self.idleCV) }
        monitor.unlock()
    }

    /// Drain, end the workers, free the host objects.
    func destroy() {
        drain()
        stopThreads()
        monitor.destroy()
    }

    private func stopThreads() {
        monitor.lock()
        stopping = true
        monitor.broadcast(Self.workCV)
        let ts = threads
        threads = []
        monitor.unlock()
        for t in ts { _ = Hyp.table.pointee.thread_join!(ctx, t) }
    }

    private func worker() {
        monitor.lock()
        workerSelves.insert(Hyp.table.pointee.thread_self!(ctx))
        while true {
            guard let wk = head else {
                if stopping { break }
                monitor.wait(Self.workCV)
                continue
            }
            head = wk.pointee.wk_next
            if head == nil { tail = nil }
            wk.pointee.wk_next = nil
            wk.pointee.wk_state &= ~Self.queuedBit
            let fn = wk.pointee.wk_fn, arg = wk.pointee.wk_arg
            runningCount += 1
            monitor.unlock()
            fn?(wk, arg)  // wk may be re-queued or freed from here on
            monitor.lock()
            runningCount -= 1
            if head == nil && runningCount == 0 { monitor.broadcast(Self.idleCV) }
        }
        monitor.unlock()
    }
}

/// Every live workqueue, by owning component (for componentFinished).
final class Workqueues: Sendable {
    static let shared = Workqueues()
    private let queues = GlueLock<[ObjectIdentifier: WorkQueue]>("glue.workqueue", [:])

    func add(_ q: WorkQueue) { queues.withLock { $0[ObjectIdentifier(q)] = q } }
    func remove(_ q: WorkQueue) -> Bool { queues.withLock { $0.removeValue(forKey: ObjectIdentifier(q)) != nil } }

    func destroyAll(of ctx: OpaquePointer) {
        let mine = queues.withLock { all in
            let m = all.values.filter { $0.ctx == ctx }
            for q in m { all.removeValue(forKey: ObjectIdentifier(q)) }
            return m
        }
        for q in mine {
            Hyp.log(ctx, HUSK_LOG_WARN, "glue: workqueue '\(q.name)' was not destroyed; destroying it")
            q.destroy()
            Unmanaged.passUnretained(q).release()  // the C pointer's reference
        }
    }
}

// MARK: C entry points (husk/glue/workqueue.h)

@_cdecl("glue_workqueue_create")
public func glue_workqueue_create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ name: UnsafePointer<CChar>?,
    _ nthreads: UInt32
) -> Int32 {
    let ctx = Hyp.current("workqueue_create")
    guard let out, nthreads >= 1, nthreads <= 64 else { return HUSK_EINVAL }
    let n = name.map { String(cString: $0) } ?? "workqueue"
    guard let q = WorkQueue(ctx: ctx, name: n, threads: Int(nthreads)) else { return HUSK_EAGAIN }
    Workqueues.shared.add(q)
    out.pointee = OpaquePointer(Unmanaged.passRetained(q).toOpaque())
    return HUSK_OK
}

@_cdecl("glue_workqueue_enqueue")
public func glue_workqueue_enqueue(
    _ wq: OpaquePointer?, _ wk: UnsafeMutablePointer<work>?, _ fn: work_fn_t?,
    _ arg: UnsafeMutableRawPointer?
) -> Bool {
    let q = WorkqueueRef.get(wq, "workqueue_enqueue")
    guard let wk, let fn else { Hyp.panic(q.ctx, "workqueue_enqueue: NULL work or function") }
    return q.enqueue(wk, fn, arg)
}

@_cdecl("glue_workqueue_drain")
public func glue_workqueue_drain(_ wq: OpaquePointer?) {
    WorkqueueRef.get(wq, "workqueue_drain").drain()
}

@_cdecl("glue_workqueue_destroy")
public func glue_workqueue_destroy(_ wq: OpaquePointer?) {
    let q = WorkqueueRef.get(wq, "workqueue_destroy")
    guard Workqueues.shared.remove(q) else { Hyp.panic(q.ctx, "workqueue_destroy: '\(q.name)' already destroyed") }
    q.destroy()
    Unmanaged.passUnretained(q).release()
}

enum WorkqueueRef {
    static func get(_ wq: OpaquePointer?, _ call: StaticString) -> WorkQueue {
        guard let wq else { Hyp.panic(Hyp.currentOrNil, "\(call)(NULL)") }
        return Unmanaged<WorkQueue>.fromOpaque(UnsafeRawPointer(wq)).takeUnretainedValue()
    }
}

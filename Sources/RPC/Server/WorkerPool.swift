import Glibc
import HypercallABI
import Hypercalls
import Platform
import RPCTransport

/// A bounded, elastic pool of host threads that run calls. Threads are made
/// with HypercallThreads.create, so each has a hypercall thread record: the
/// runtime cancels a call by setting that record's cancellation flag
/// (HypercallThreads.cancel), which wakes the hypercall sleeps and waits of the
/// component serving it.
final class WorkerPool: @unchecked Sendable {
    // @unchecked: every mutable field is only touched under `monitor`.
    private let monitor = Monitor()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var idle = 0
    private var threads = 0
    private var stopping = false
    let maxThreads: Int
    let minThreads: Int

    init(minThreads: Int, maxThreads: Int) {
        self.minThreads = max(1, minThreads)
        self.maxThreads = max(self.minThreads, maxThreads)
    }

    /// Queue a job; a thread is woken, or started when every thread is busy
    /// and the pool is below its maximum (then the job waits for a thread).
    func submit(_ job: @escaping @Sendable () -> Void) {
        monitor.lock()
        jobs.append(job)
        let waiting = jobs.count - head
        var spawn = false
        if waiting <= idle {
            monitor.signal()
        } else if threads < maxThreads {
            threads += 1
            spawn = true
        }
        monitor.unlock()
        if spawn { startWorker() }
    }

    var threadCount: Int { monitor.withLock { threads } }

    func stop() {
        monitor.withLock {
            stopping = true
            monitor.broadcast()
        }
    }

    private static let taken: @Sendable () -> Void = {}

    private func startWorker() {
        if !RPCServerThread.start(name: "rpc-worker", { [self] in workerLoop() }) {
            monitor.withLock { threads -= 1 }
        }
    }

    private func workerLoop() {
        while true {
            monitor.lock()
            while head == jobs.count && !stopping {
                idle += 1
                // Threads above the minimum leave after 10 s without work.
                let ok = monitor.wait(deadlineNanos: monotonicNanos() + 10_000_000_000)
                idle -= 1
                if !ok && head == jobs.count && threads > minThreads {
                    threads -= 1
                    monitor.unlock()
                    return
                }
            }
            if head == jobs.count {
                threads -= 1
                monitor.unlock()
                return
            }  // stopping
            let job = jobs[head]
            // The slot stays in the array until the next compaction: let go
            // of the closure now, or what it captured (a call, its connection,
            // an opened object's binding: a NIC port, a socket) outlives the
            // client by up to 64 jobs.
            jobs[head] = WorkerPool.taken
            head += 1
            if head > 64 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            monitor.unlock()
            job()
        }
    }
}

/// The calling worker thread's hypercall identity and cancellation flag.
public enum RPCWorkerThread {
    static var handle: husk_handle? { HypercallThreads.currentHandle }
    /// Clear the calling thread's cancellation flag (between calls).
    static func clearCancel() { HypercallThreads.clearCurrentCancellation() }
    /// Whether the calling thread's cancellation flag is set.
    public static var cancelPending: Bool { HypercallThreads.currentCancellationPending }
}

/// The server's own threads (workers and connection readers): detached
/// host threads with a hypercall thread record, so a call can run on any of
/// them (also into components: the record carries the cancellation flag
/// the runtime sets), with every signal blocked but SIGSYS (signals belong
/// to the application's threads; a seccomp trap must reach the sandbox's
/// logging handler, docs/sandbox.md).
enum RPCServerThread {
    private final class Box: @unchecked Sendable {
        // @unchecked: immutable, handed to the new thread.
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// False when the thread could not be made.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var all = sigset_t(), old = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGSYS)
        pthread_sigmask(SIG_SETMASK, &all, &old)
        let r = HypercallThreads.create(
            ctx: nil, name: name,
            fn: { raw in Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body() }, arg: box, joinable: false, hostThread: true)
        pthread_sigmask(SIG_SETMASK, &old, nil)
        if case .failure = r {
            Unmanaged<Box>.fromOpaque(box).release()
            return false
        }
        return true
    }
}

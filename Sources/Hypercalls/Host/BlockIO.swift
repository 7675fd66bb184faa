import Glibc
import HypercallABI
import Platform

/// Block devices opened through the table and the worker threads that carry
/// out asynchronous requests. Completions run on the worker, as the
/// component that submitted (irq context).
final class BlockIO: @unchecked Sendable {
    // @unchecked: the queue and worker list are behind `lock`.
    let files = HandleRegistry<BlockFile>(tag: 0x424B)  // "BK"
    private let lock = Monitor()
    private var queue: [(BlockFile, UnsafeMutablePointer<husk_blk_req>)] = []
    private var head = 0
    private var workers: [HostThread] = []
    private var stopping = false
    /// Enough to keep a queue-depth-32 workload busy on a file without
    /// oversubscribing a small machine.
    static let workerCount = 4

    func submit(_ file: BlockFile, _ req: UnsafeMutablePointer<husk_blk_req>) {
        file.begin()
        lock.withLock {
            if workers.isEmpty {
                for i in 0..<BlockIO.workerCount {
                    workers.append(HostThread.start(name: "blkio\(i)") { [self] in self.work() })
                }
            }
            queue.append((file, req))
            lock.signal()
        }
    }

    private func work() {
        while true {
            lock.lock()
            while head == queue.count && !stopping { lock.wait() }
            if head == queue.count && stopping {
                lock.unlock()
                return
            }
            let (file, req) = queue[head]
            head += 1
            if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            lock.unlock()
            perform(file, req)
        }
    }

    private func perform(_ file: BlockFile, _ req: UnsafeMutablePointer<husk_blk_req>) {
        let r = req.pointee
        let status: Int32
        switch r.op {
        case UInt32(HUSK_BLK_READ): status = file.read(into: r.buf!, len: r.len, offset: r.offset)
        case UInt32(HUSK_BLK_WRITE): status = file.write(from: r.buf!, len: r.len, offset: r.offset)
        default: status = file.flush()
        }
        req.pointee.status = status
        if let done = r.done {
            HypercallThreads.acting(as: file.ctx) { done(req) }
        }
        // After `done`: the request belongs to the component again only now,
        // and blk_close may proceed.
        file.end()
    }

    func shutdown() {
        let ws: [HostThread] = lock.withLock {
            stopping = true
            lock.broadcast()
            let w = workers
            workers = []
            return w
        }
        for w in ws { w.join() }
        lock.withLock { stopping = false }
    }
}

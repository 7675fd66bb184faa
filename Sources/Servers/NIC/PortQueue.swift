import Glibc
import Platform
import RPCInterfaces

/// One client port's receive side: frames copied out of the driver's
/// buffers (the driver gets its buffer back at once, so a slow client never
/// starves the receive ring), waiting for `nic.receive`. Bounded: a full
/// queue drops the new frame, as a NIC drops when its ring is full.
final class PortQueue: @unchecked Sendable {
    // @unchecked: all state behind `monitor`.
    struct Frame {
        let bytes: [UInt8]
        let flags: UInt32
        /// CLOCK_REALTIME nanoseconds when the server saw it (pcap wants wall time).
        let time: UInt64
    }

    let mode: Nic.PortMode
    private let monitor = Monitor()
    private var frames: [Frame] = []
    private var head = 0
    private var linkChanged = false
    private var closed = false

    init(mode: Nic.PortMode) { self.mode = mode }

    /// Queue a frame; false (dropped) when the queue is full or closed.
    func push(_ f: Frame) -> Bool {
        monitor.withLock {
            guard !closed, frames.count - head < Nic.Limits.queueFrames else { return false }
            frames.append(f)
            monitor.broadcast()
            return true
        }
    }

    /// The link went up or down: wake a waiting receive so the stack learns at once.
    func noteLinkChange() {
        monitor.withLock {
            linkChanged = true
            monitor.broadcast()
        }
    }

    func close() {
        monitor.withLock {
            closed = true
            monitor.broadcast()
        }
    }

    /// Frames whose bytes fit in `capacity` together, waiting until at least
    /// one is there, the link changes, the port closes, `deadline` passes or
    /// `cancelled` says so (checked every 50 ms).
    func take(capacity: Int, deadline: UInt64, cancelled: () -> Bool) -> [Frame] {
        monitor.lock()
        defer { monitor.unlock() }
        while head == frames.count && !linkChanged && !closed {
            let now = monotonicNanos()
            if now >= deadline || cancelled() { return [] }
            _ = monitor.wait(deadlineNanos: min(deadline, now + 50_000_000))
        }
        linkChanged = false
        var out: [Frame] = []
        var used = 0
        while head < frames.count, used + frames[head].bytes.count <= capacity {
            used += frames[head].bytes.count
            out.append(frames[head])
            head += 1
        }
        // Compact now and then rather than on every take.
        if head > 256 && head * 2 > frames.count {
            frames.removeFirst(head)
            head = 0
        }
        return out
    }
}

/// Wall-clock nanoseconds, for capture timestamps.
func realtimeNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

import CLibvirt
import Glibc
import Platform

/// A domain's serial console, read through a libvirt stream whose data
/// arrives on the event loop thread: every byte is appended to a transcript
/// (and optionally to a log file), and waiters are woken per line.
public final class ConsoleReader: @unchecked Sendable {
    // @unchecked: `text`, `closed`, `partial`, `complete`, `logFD` are guarded by `monitor`.
    private let stream: virStreamPtr
    private let monitor = Monitor()
    private var text: [UInt8] = []
    private var closed = false
    private var logFD: Int32 = -1
    /// Called with each complete line as it arrives (progress display).
    public var onLine: (@Sendable (String) -> Void)?
    private var partial: [UInt8] = []
    /// Complete lines so far (split on the byte 10: "\r\n" is one Character
    /// in Swift, so splitting the decoded text on "\n" would miss them).
    private var complete: [String] = []

    init(domain: VirDomain) throws(LibvirtError) {
        guard let st = virStreamNew(domain.connection.raw, UInt32(VIR_STREAM_NONBLOCK.rawValue)) else {
            throw LibvirtError("cannot create a stream for the console")
        }
        stream = st
        guard virDomainOpenConsole(domain.raw, nil, st, UInt32(VIR_DOMAIN_CONSOLE_FORCE.rawValue)) == 0 else {
            virStreamFree(st)
            throw LibvirtError("cannot open the console of \(domain.name)")
        }
        let me = Unmanaged.passRetained(self).toOpaque()
        let events = Int32(VIR_STREAM_EVENT_READABLE.rawValue | VIR_STREAM_EVENT_ERROR.rawValue | VIR_STREAM_EVENT_HANGUP.rawValue)
        let r = virStreamEventAddCallback(
            st, events,
            { st, _, opaque in
                Unmanaged<ConsoleReader>.fromOpaque(opaque!).takeUnretainedValue().readable(st!)
            }, me, { opaque in Unmanaged<ConsoleReader>.fromOpaque(opaque!).release() })
        guard r == 0 else {
            Unmanaged<ConsoleReader>.fromOpaque(me).release()
            virStreamFree(st)
            throw LibvirtError("cannot watch the console stream")
        }
    }

    deinit {
        if logFD >= 0 { close(logFD) }
    }

    /// Also write everything to `path` (the guest log kept on failure).
    public func log(to path: String) {
        monitor.withLock {
            logFD = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if logFD >= 0 && !text.isEmpty { _ = text.withUnsafeBytes { write(logFD, $0.baseAddress, $0.count) } }
        }
    }

    /// Event loop thread: drain what is readable.
    private func readable(_ st: virStreamPtr) {
        var buf = [CChar](repeating: 0, count: 4096)
        while true {
            let n = virStreamRecv(st, &buf, buf.count)
            if n > 0 {
                let bytes = buf[0..<Int(n)].map { UInt8(bitPattern: $0) }
                var lines: [String] = []
                monitor.lock()
                text += bytes
                if logFD >= 0 { _ = bytes.withUnsafeBytes { write(logFD, $0.baseAddress, $0.count) } }
                for b in bytes {
                    if b == 10 {
                        let line = String(decoding: partial, as: UTF8.self).trimmingCR()
                        lines.append(line)
                        complete.append(line)
                        partial = []
                    } else {
                        partial.append(b)
                    }
                }
                monitor.broadcast()
                let cb = onLine
                monitor.unlock()
                if let cb { for l in lines { cb(l) } }
                continue
            }
            if n == -2 { return }  // would block: wait for the next event
            // 0: end of stream (the domain went away); -1: error.
            _ = virStreamEventRemoveCallback(st)
            if n == 0 { _ = virStreamFinish(st) } else { _ = virStreamAbort(st) }
            monitor.withLock {
                closed = true
                monitor.broadcast()
            }
            return
        }
    }

    /// The console so far, as lines.
    public var lines: [String] {
        monitor.withLock { complete + (partial.isEmpty ? [] : [String(decoding: partial, as: UTF8.self).trimmingCR()]) }
    }

    public var isClosed: Bool {
        monitor.withLock { closed }
    }

    /// Wait until `done(lines)` holds, the stream closes, or `seconds` pass.
    /// Returns true if `done` held.
    public func wait(seconds: Double, until done: ([String]) -> Bool) -> Bool {
        let end = monotonicNanos() + UInt64(max(0, seconds) * 1e9)
        return monitor.withLock {
            while true {
                if done(complete) { return true }
                if closed { return false }
                let now = monotonicNanos()
                if now >= end { return false }
                // Wake at least every 250 ms so the caller's checks run.
                monitor.wait(deadlineNanos: min(end, now + 250_000_000))
            }
        }
    }
}

extension String {
    func trimmingCR() -> String { hasSuffix("\r") ? String(dropLast()) : self }
}

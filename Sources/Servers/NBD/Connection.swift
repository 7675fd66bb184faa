import Glibc
import Platform

/// The transmission phase of one client. Two threads: the connection
/// thread reads requests and submits them to the disk (this file); the
/// sender thread writes replies as requests complete (ReplySender.swift),
/// in completion order, matched by cookie. Disk completions arrive on the
/// provider's thread and only move a request to the ready queue: they must
/// not block, and sending could.
final class Connection: @unchecked Sendable {
    // @unchecked: the vars below are guarded by `monitor`.
    let socket: StreamSocket
    let export: Export
    let config: ServerConfig
    let peer: String
    let monitor = Monitor()

    /// Completed requests waiting for their reply (FIFO).
    var ready: [Request] = []
    /// Requests accepted and not yet replied to, and their buffer bytes.
    var inFlight = 0
    var inFlightBytes = 0
    /// The reader has stopped: the sender exits once inFlight reaches 0.
    var readerDone = false
    /// A send failed: replies are dropped, the reader is woken to stop.
    var broken = false

    init(socket: StreamSocket, export: Export, config: ServerConfig, peer: String) {
        self.socket = socket
        self.export = export
        self.config = config
        self.peer = peer
    }

    /// Serve until the client disconnects, sends something malformed, or
    /// the server shuts the socket's read side. Returns after every request
    /// accepted has been completed and answered (or dropped when the client
    /// is gone), so the caller may close the socket.
    func serve() {
        let sender: HostThread
        do {
            sender = try HostThread.spawn(name: "nbd-send") { [self] in runSender() }
        } catch {
            config.log("nbd: \(peer): \(error)")
            return
        }
        let reason = readRequests()
        monitor.withLock {
            readerDone = true
            monitor.broadcast()
        }
        sender.join()
        config.log("nbd: \(peer): closed (\(reason))")
    }

    // MARK: Reader

    /// The request loop; returns why it stopped.
    private func readRequests() -> String {
        while true {
            guard let head = socket.read(28) else { return "end of stream" }
            var r = WireReader(head)
            let magic = r.u32()!, flags = r.u16()!, command = r.u16()!
            let cookie = r.u64()!, offset = r.u64()!, length = r.u32()!
            guard magic == NBD.requestMagic else { return "bad request magic 0x\(String(magic, radix: 16))" }
            if monitor.withLock({ broken }) { return "reply failed" }

            switch command {
            case NBD.cmdDisc:
                return "client disconnected"
            case NBD.cmdRead:
                read(cookie, flags, offset, length)
            case NBD.cmdWrite:
                if let failure = write(cookie, flags, offset, length) { return failure }
            case NBD.cmdFlush:
                flush(cookie, flags)
            case NBD.cmdWriteZeroes:
                writeZeroes(cookie, flags, offset, length)
            default:
                // TRIM (not advertised), CACHE, BLOCK_STATUS, ...: none
                // carries a payload without extended headers, which we
                // never negotiate, so the stream stays in sync.
                answer(cookie, command, flags, NBD.errInval)
            }
        }
    }

    private static let knownFlags = NBD.cmdFlagFUA | NBD.cmdFlagNoHole

    /// nil if [offset, offset+length) is a non-empty, block-aligned range of
    /// the export; else the NBD error. A write or write-zeroes reaching past
    /// the end is ENOSPC, as the NBD protocol asks; a read there is EINVAL.
    private func rangeError(_ offset: UInt64, _ length: UInt32, writing: Bool = false) -> UInt32? {
        let bs = UInt64(export.blockSize)
        guard length > 0, offset % bs == 0, UInt64(length) % bs == 0 else { return NBD.errInval }
        guard offset <= export.size, UInt64(length) <= export.size - offset else {
            return writing ? NBD.errNoSpc : NBD.errInval
        }
        return nil
    }

    private func read(_ cookie: UInt64, _ flags: UInt16, _ offset: UInt64, _ length: UInt32) {
        if flags & ~Self.knownFlags != 0 || length > NBDLimits.maxPayload {
            return answer(cookie, NBD.cmdRead, flags, NBD.errInval)
        }
        if let e = rangeError(offset, length) { return answer(cookie, NBD.cmdRead, flags, e) }
        waitForBudget(Int(length))
        guard let buffer = AlignedBuffer(count: Int(length)) else { return answer(cookie, NBD.cmdRead, flags, NBD.errNoMem) }
        let req = Request(cookie: cookie, command: NBD.cmdRead, flags: flags, offset: offset, length: length, buffer: buffer)
        submit(req, .read, pieceStride: true)
    }

    /// Returns a reason to close when the payload cannot be consumed.
    private func write(_ cookie: UInt64, _ flags: UInt16, _ offset: UInt64, _ length: UInt32) -> String? {
        // Refusals still consume the payload to stay in sync with the stream.
        func refuse(_ error: UInt32) -> String? {
            guard length <= NBDLimits.maxDiscardablePayload else {
                return "write of \(length) bytes is over the limit; payload not consumed"
            }
            guard socket.discard(Int(length)) else { return "write payload truncated" }
            answer(cookie, NBD.cmdWrite, flags, error)
            return nil
        }
        if length > NBDLimits.maxPayload || flags & ~Self.knownFlags != 0 { return refuse(NBD.errInval) }
        if export.readOnly { return refuse(NBD.errPerm) }
        if let e = rangeError(offset, length, writing: true) { return refuse(e) }
        waitForBudget(Int(length))
        guard let buffer = AlignedBuffer(count: Int(length)) else { return refuse(NBD.errNoMem) }
        guard socket.read(into: buffer.pointer, count: Int(length)) else { return "write payload truncated" }
        let req = Request(
            cookie: cookie, command: NBD.cmdWrite, flags: flags, offset: offset, length: length,
            buffer: buffer, flushAfter: flags & NBD.cmdFlagFUA != 0 && export.disk.hasFlush)
        submit(req, .write, pieceStride: true)
        return nil
    }

    /// WRITE_ZEROES: the range is written from one zeroed buffer of at most
    /// a piece, reused for every piece (the disk only reads it), so a large
    /// range costs no more memory than one piece.
    private func writeZeroes(_ cookie: UInt64, _ flags: UInt16, _ offset: UInt64, _ length: UInt32) {
        if flags & ~Self.knownFlags != 0 { return answer(cookie, NBD.cmdWriteZeroes, flags, NBD.errInval) }
        if export.readOnly { return answer(cookie, NBD.cmdWriteZeroes, flags, NBD.errPerm) }
        if let e = rangeError(offset, length, writing: true) { return answer(cookie, NBD.cmdWriteZeroes, flags, e) }
        let size = Int(min(length, export.pieceSize))
        waitForBudget(size)
        guard let zeroes = AlignedBuffer(count: size, zeroed: true) else {
            return answer(cookie, NBD.cmdWriteZeroes, flags, NBD.errNoMem)
        }
        let req = Request(
            cookie: cookie, command: NBD.cmdWriteZeroes, flags: flags, offset: offset, length: length,
            buffer: zeroes, flushAfter: flags & NBD.cmdFlagFUA != 0 && export.disk.hasFlush)
        submit(req, .write, pieceStride: false)
    }

    /// FLUSH covers every write already replied to: those completed before
    /// this request was read, which is what a disk flush guarantees. A disk
    /// without a volatile cache has nothing to flush.
    private func flush(_ cookie: UInt64, _ flags: UInt16) {
        let req = Request(cookie: cookie, command: NBD.cmdFlush, flags: flags, offset: 0, length: 0)
        guard export.disk.hasFlush else { return enqueue(req) }
        monitor.withLock { inFlight += 1 }
        submitFlush(req)
    }

    /// A request refused before reaching the disk: queued for its reply
    /// like any other so that the sender stays the only writer.
    private func answer(_ cookie: UInt64, _ command: UInt16, _ flags: UInt16, _ error: UInt32) {
        enqueue(Request(cookie: cookie, command: command, flags: flags, offset: 0, length: 0, error: error))
    }

    private func enqueue(_ req: Request) {
        monitor.withLock {
            inFlight += 1
            ready.append(req)
            monitor.broadcast()
        }
    }

    /// Back-pressure: wait until this request fits the connection's budget
    /// (one request always fits an idle connection). Stops waiting if the
    /// sender found the client gone.
    private func waitForBudget(_ bytes: Int) {
        monitor.withLock {
            while !broken,
                inFlight >= NBDLimits.maxInFlightRequests
                    || (inFlightBytes > 0 && inFlightBytes + bytes > NBDLimits.maxInFlightBytes)
            {
                monitor.wait()
            }
        }
    }
}

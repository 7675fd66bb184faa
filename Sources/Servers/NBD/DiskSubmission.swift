import Glue
import HypercallABI
import Platform

/// Getting a request's pieces to the disk and counting their completions.
extension Connection {
    /// Submit `req` as pieces of at most export.pieceSize. With pieceStride
    /// each piece uses its own slice of the buffer; without, every piece
    /// uses the start of it (the zero buffer of WRITE_ZEROES).
    func submit(_ req: Request, _ op: Glue.Disk.Operation, pieceStride: Bool) {
        let piece = UInt64(export.pieceSize)
        let total = UInt64(req.length)
        let count = Int((total + piece - 1) / piece)
        monitor.withLock {
            inFlight += 1
            inFlightBytes += req.charged
            req.piecesLeft = count + 1  // +1: ours, so no early finish
        }
        let base = req.buffer!.pointer
        for i in 0..<count {
            let at = UInt64(i) * piece
            let len = min(piece, total - at)
            let data = pieceStride ? base + Int(at) : base
            let r = submitRetrying(op, data: data, offset: req.offset + at, length: len, for: req)
            if r != HUSK_OK {
                // Pieces never submitted will never complete: count them off.
                finishPieces(req, count: count - i, status: r)
                break
            }
        }
        finishPieces(req, count: 1, status: HUSK_OK)
    }

    /// A FLUSH on its own, or the flush after a FUA write.
    func submitFlush(_ req: Request) {
        monitor.withLock { req.piecesLeft = 1 }
        let r = submitRetrying(.flush, data: nil, offset: 0, length: 0, for: req)
        if r != HUSK_OK { finishPieces(req, count: 1, status: r) }
    }

    /// EAGAIN means the provider's queue is full (it may be shared with
    /// other connections): wait for a completion, or a millisecond since
    /// completions of other connections do not signal this one, and retry.
    private func submitRetrying(
        _ op: Glue.Disk.Operation, data: UnsafeMutableRawPointer?, offset: UInt64,
        length: UInt64, for req: Request
    ) -> Int32 {
        while true {
            let r = export.disk.submit(op, data: data, offset: offset, length: length) { [self] status in
                finishPieces(req, count: 1, status: status)
            }
            guard r == HUSK_EAGAIN else { return r }
            monitor.withLock { monitor.wait(timeoutNanos: 1_000_000) }
        }
    }

    /// Runs on the provider's completion thread too: only a short lock.
    func finishPieces(_ req: Request, count: Int, status: Int32) {
        monitor.withLock {
            if status != HUSK_OK && req.error == 0 { req.error = ErrorMapping.nbdError(status) }
            req.piecesLeft -= count
            if req.piecesLeft == 0 {
                ready.append(req)
            }
            // Also wakes a reader retrying after EAGAIN.
            monitor.broadcast()
        }
    }
}

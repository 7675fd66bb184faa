import Glibc
import Hypercalls
import Platform
import RPCTransport
import RPCWire

/// Calls in flight: cancellation, completion, and their access to the
/// client's shared memory.
extension ServerConnection {
    // MARK: cancellation

    func cancel(requestID: UInt64) {
        let what: (UInt32, UInt32)? = state.withLock {
            guard let c = inFlight[requestID], !c.cancelled else { return nil }  // unknown or finished: ignored
            c.cancelled = true
            // Under `state`, so the worker cannot move on to another call
            // between the check and the cancel.
            if let w = c.worker { _ = HypercallThreads.cancel(w) }
            return (c.interface, c.operation)
        }
        if let (i, o) = what {
            server.log(.info, "connection \(id): request \(requestID) (interface \(i) op \(o)) cancelled by the client")
        }
    }

    func cancelAll() {
        state.withLock {
            for c in inFlight.values where !c.cancelled {
                c.cancelled = true
                if let w = c.worker { _ = HypercallThreads.cancel(w) }
            }
        }
    }

    // MARK: completion

    func finish(_ c: ServerCall, reply: RPCReplyBody, signal: Int32) {
        sendReply(
            header: c.header, status: reply.status, payload: reply.payload, fds: reply.descriptors,
            signal: UInt16(truncatingIfNeeded: signal))
        state.withLock {
            inFlight.removeValue(forKey: c.requestID)
            state.broadcast()  // a reader waiting for an in-flight slot
        }
        maybeClose()
    }

    // MARK: shared memory

    /// Run `body` over the bytes `ref` names, in place (no copy). The region
    /// stays mapped until `body` returns, even if the client unregisters it.
    func withSharedMemory<T>(
        _ ref: SharedMemoryRef, writable: Bool,
        _ body: (UnsafeMutableRawBufferPointer) -> T
    ) -> Result<T, RPCError> {
        guard let region = state.withLock({ regions[ref.id] }) else {
            return .failure(RPCError(RPCStatus.inval, "no shared memory region \(ref.id)"))
        }
        if writable && !region.writable {
            return .failure(RPCError(RPCStatus.acces, "shared memory region \(ref.id) is sealed against writes"))
        }
        return withExtendedLifetime(region) { region.range(offset: ref.offset, length: ref.length).map(body) }
    }

    /// The bytes `ref` names, kept mapped for as long as the result lives.
    func retainSharedMemory(_ ref: SharedMemoryRef, writable: Bool) -> Result<RPCSharedMapping, RPCError> {
        guard let region = state.withLock({ regions[ref.id] }) else {
            return .failure(RPCError(RPCStatus.inval, "no shared memory region \(ref.id)"))
        }
        if writable && !region.writable {
            return .failure(RPCError(RPCStatus.acces, "shared memory region \(ref.id) is sealed against writes"))
        }
        return region.range(offset: ref.offset, length: ref.length).map { _ in
            RPCSharedMapping(region: region, offset: Int(ref.offset), count: Int(ref.length))
        }
    }
}

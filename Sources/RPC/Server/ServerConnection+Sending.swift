import Glibc
import Hypercalls
import Platform
import RPCTransport
import RPCWire

/// Replies: fragmented to the message limit, sent without blocking, the
/// rest queued for the flusher up to the queued-reply limit.
extension ServerConnection {
    // MARK: sending

    /// Build the reply (fragmented when needed) and send it, queueing what the
    /// socket does not take now. Takes ownership of `fds`.
    func sendReply(header req: RPCHeader, status: Int32, payload: [UInt8], fds: [Int32], signal: UInt16) {
        let chunk = Int(limits.maxMessage) - RPCHeader.size
        var messages: [(bytes: [UInt8], fds: [Int32])] = []
        var offset = 0
        repeat {
            let n = min(chunk, payload.count - offset)
            let last = offset + n == payload.count
            var h = RPCHeader(
                flags: last ? .reply : [.reply, .more], interface: req.interface, operation: req.operation,
                requestID: req.requestID, status: status, payloadLength: UInt32(n),
                fdCount: offset == 0 ? UInt16(fds.count) : 0, signal: signal)
            h.version = RPCHeader.protocolVersion
            var bytes = h.encoded()
            bytes.append(contentsOf: payload[offset..<offset + n])
            messages.append((bytes, offset == 0 ? fds : []))
            offset += n
        } while offset < payload.count
        enqueue(messages)
    }

    func enqueue(_ messages: [(bytes: [UInt8], fds: [Int32])]) {
        var needFlusher = false
        var overflow = false
        sendLock.withLock {
            if sendBroken {
                for m in messages { closeDescriptors(m.fds) }
                return
            }
            var i = 0
            if queue.isEmpty {
                while i < messages.count {
                    do throws(TransportError) {
                        try transport.send(messages[i].bytes, descriptors: messages[i].fds, nonBlocking: true)
                        closeDescriptors(messages[i].fds)
                        i += 1
                    } catch {
                        if error.errno == EAGAIN { break }
                        sendBroken = true
                        for m in messages[i...] { closeDescriptors(m.fds) }
                        return
                    }
                }
            }
            guard i < messages.count else { return }
            // The limit is for a client that does not read: replies already
            // queued beyond it mean it stopped. One reply larger than the
            // limit (up to max_payload) is queued whole and streams out as
            // the client drains it.
            let backlog = queuedBytes
            for m in messages[i...] {
                queue.append(m)
                queuedBytes += m.bytes.count
            }
            if backlog > limits.maxQueuedReplyBytes {
                overflow = true
                sendBroken = true
                for m in queue { closeDescriptors(m.fds) }
                queue = []
                queuedBytes = 0
            } else {
                needFlusher = true
            }
        }
        if overflow {
            server.log(
                .warning, "connection \(id): more than \(limits.maxQueuedReplyBytes) reply bytes queued (client not reading); disconnecting"
            )
            state.withLock { closeReason = "reply queue overflow" }
            transport.shutdown()
        } else if needFlusher {
            server.flusher.add(self)
        }
    }

    /// Send queued replies that fit now; true when nothing is left to do.
    func flushQueue() -> Bool {
        sendLock.withLock {
            if sendBroken { return true }
            while let m = queue.first {
                do throws(TransportError) {
                    try transport.send(m.bytes, descriptors: m.fds, nonBlocking: true)
                } catch {
                    if error.errno == EAGAIN { return false }
                    sendBroken = true
                    for q in queue { closeDescriptors(q.fds) }
                    queue = []
                    queuedBytes = 0
                    return true
                }
                closeDescriptors(m.fds)
                queue.removeFirst()
                queuedBytes -= m.bytes.count
            }
            return true
        }
    }
}

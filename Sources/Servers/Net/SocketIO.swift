import Glue
import GlueAPI
import Platform
import RPCInterfaces

/// The net interface's blocking calls, made of the glue's non-blocking ops
/// and its interruptible waits (husk/glue/socket.h): what POSIX does for a
/// blocking socket, with the socket's modes (non-blocking, receive and send
/// timeouts) and the call's MSG_* flags. A wait ends with EINTR when the RPC
/// call is cancelled (the glue checks the worker's cancellation flag) or
/// the server stops (`interrupted`).
struct SocketIO {
    let served: ServedSocket
    let flags: UInt32
    let interrupted: () -> Bool

    typealias Failure = Glue.SocketError

    private var socket: Glue.Socket { served.socket }
    private var noWait: Bool { served.doesNotWait(flags) }

    /// A deadline `ms` from now (nil: none).
    private static func deadline(_ ms: UInt32?) -> UInt64? { ms.map { monotonicNanos() &+ UInt64($0) * 1_000_000 } }

    /// Milliseconds left (nil: no deadline); ETIMEDOUT once it has passed.
    private static func left(_ deadline: UInt64?) throws(Failure) -> UInt32? {
        guard let deadline else { return nil }
        let now = monotonicNanos()
        guard now < deadline else { throw Failure(HUSK_ETIMEDOUT) }
        return UInt32(min(UInt64(UInt32.max - 1), (deadline - now + 999_999) / 1_000_000))
    }

    private func wait(_ events: UInt32, until deadline: UInt64?) throws(Failure) {
        _ = try socket.wait(for: events, timeoutMs: try Self.left(deadline), interrupted: interrupted)
    }

    /// accept: a connection, waiting for one unless the socket does not
    /// wait; EAGAIN when the receive timeout passes first.
    func accept() throws(Failure) -> (Glue.Socket, Glue.SocketAddress) {
        let deadline = Self.deadline(served.receiveTimeout)
        while true {
            do { return try socket.accept() } catch  where error.code == HUSK_EAGAIN && !noWait {}
            do { try wait(UInt32(SOCKET_POLLIN), until: deadline) } catch  where error.code == HUSK_ETIMEDOUT {
                throw Failure(HUSK_EAGAIN)
            }
        }
    }

    /// connect: a blocking connect waits for the handshake (up to
    /// `timeoutMs`, else until the stack gives up) and reports how it went;
    /// a non-blocking one returns EINPROGRESS.
    func connect(_ a: Glue.SocketAddress, timeoutMs: UInt32?) throws(Failure) {
        do { try socket.connect(a) } catch  where error.code == HUSK_EINPROGRESS && !noWait {
            try wait(UInt32(SOCKET_POLLOUT), until: Self.deadline(timeoutMs))
            let e = try socket.pendingError()
            if e != 0 { throw Failure(e) }
        }
    }

    /// send: a stream socket sends everything unless it does not wait, the
    /// send timeout passes or the call is interrupted, in which case the
    /// bytes sent so far are the result (an error only if there were none).
    /// A datagram goes whole or not at all.
    func send(_ data: UnsafeRawBufferPointer, to: Glue.SocketAddress? = nil) throws(Failure) -> Int {
        let deadline = Self.deadline(served.sendTimeout)
        var done = 0
        repeat {
            do {
                done += try socket.send(UnsafeRawBufferPointer(rebasing: data[done...]), to: to)
                if !served.isStream { return done }
            } catch  where error.code == HUSK_EAGAIN {
                if noWait {
                    if done > 0 { return done }
                    throw error
                }
                do { try wait(UInt32(SOCKET_POLLOUT), until: deadline) } catch {
                    if done > 0 { return done }
                    throw error.code == HUSK_ETIMEDOUT ? Failure(HUSK_EAGAIN) : error
                }
            } catch {
                if done > 0 { return done }
                throw error
            }
        } while done < data.count
        return done
    }

    /// recv: waits for data (unless the socket does not wait), then returns
    /// what is there; with MSG_WAITALL, waits until the buffer is full, the
    /// stream ends or an error comes (returning what arrived before it).
    /// EAGAIN when the receive timeout passes with nothing.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(Failure) -> (count: Int, from: Glue.SocketAddress?) {
        let deadline = Self.deadline(served.receiveTimeout)
        let peek = flags & Net.Flag.peek != 0 ? UInt32(SOCKET_MSG_PEEK) : 0
        let all = flags & Net.Flag.waitAll != 0 && served.isStream && peek == 0
        var done = 0
        var from: Glue.SocketAddress?
        while true {
            do {
                let r = try socket.receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), flags: peek)
                done += r.count
                from = from ?? r.from
                if !all || r.count == 0 || done == buffer.count { return (done, from) }
                continue
            } catch  where error.code == HUSK_EAGAIN {
                if noWait {
                    if done > 0 { return (done, from) }
                    throw error
                }
            } catch {
                if done > 0 { return (done, from) }
                throw error
            }
            do { try wait(UInt32(SOCKET_POLLIN), until: deadline) } catch {
                if done > 0 { return (done, from) }
                throw error.code == HUSK_ETIMEDOUT ? Failure(HUSK_EAGAIN) : error
            }
        }
    }
}

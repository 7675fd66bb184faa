import Glibc
import Platform
import RPCSys
import RPCTransport

/// The client side of STATE_DIR/control.sock (AF_UNIX SOCK_SEQPACKET): one
/// request message (`status` or `down`, UTF-8), replies as UTF-8 messages.
/// `status` gets one reply and the connection is closed; `down` gets
/// `stopping`, then `stopped` just before the supervisor exits, and the
/// connection closes when it has exited. docs/supervision.md.
public enum SupervisorControl {
    public static func socketPath(stateDir: String) -> String { stateDir + "/control.sock" }

    /// Send `request`, collect reply messages until the supervisor closes
    /// the connection or `timeout` seconds pass (then `timedOut` is true).
    public static func request(
        stateDir: String, _ request: String, timeout: Double
    ) throws(SupervisorError) -> (replies: [String], timedOut: Bool) {
        let path = socketPath(stateDir: stateDir)
        let fd = husk_rpc_socket()
        guard fd >= 0 else { throw SupervisorError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard husk_rpc_unix_connect(fd, path) == 0 else {
            let e = errno
            if e == ENOENT || e == ECONNREFUSED { throw SupervisorError("no supervisor is running (nothing listening on \(path))") }
            throw SupervisorError("connect \(path): \(String(cString: strerror(e)))")
        }
        let bytes = Array(request.utf8)
        let sent = bytes.withUnsafeBytes { husk_rpc_send(fd, $0.baseAddress, $0.count, nil, 0, 0) }
        guard sent == bytes.count else { throw SupervisorError("send to \(path): \(String(cString: strerror(errno)))") }
        var replies: [String] = []
        let end = monotonicNanos() + UInt64(timeout * 1e9)
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let now = monotonicNanos()
            if now >= end { return (replies, true) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32(min((end - now) / 1_000_000 + 1, 1000)))
            if r < 0 && errno != EINTR { throw SupervisorError("poll: \(String(cString: strerror(errno)))") }
            if r <= 0 { continue }
            let n = recv(fd, &buf, buf.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return (replies, false) }
            replies.append(String(decoding: buf[0..<n], as: UTF8.self))
        }
    }

    /// The state directory of a running supervisor for `config`, or nil.
    public static func findStateDirectory(_ config: StackConfig) -> String? {
        for d in config.candidateStateDirectories {
            var st = stat()
            if lstat(socketPath(stateDir: d), &st) == 0 { return d }
        }
        return nil
    }
}

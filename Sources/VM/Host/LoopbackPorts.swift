import Glibc

/// UDP ports on 127.0.0.1 that are free now, for a VM's loopback NIC
/// wiring: the kernel picks them (bind to port 0), all bound at once so they
/// differ, then they are released for QEMU to bind. Fixed ports would make
/// two concurrent runs collide every time. Another process may take one in
/// the moment between: QEMU then fails to start with "Address already in
/// use" (`isPortInUse`), or, when that process is another QEMU, both start,
/// since QEMU binds with SO_REUSEADDR (tried: two QEMU 7.2 with the same
/// localaddr both run) and frames go to one of them; `socketsBound` shows
/// that. The runner picks again in both cases.
enum LoopbackPorts {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func freeUDP(count: Int) throws(Failure) -> [UInt16] {
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        var ports: [UInt16] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket(AF_INET, SOCK_DGRAM): \(String(cString: strerror(errno)))") }
            fds.append(fd)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            addr.sin_port = 0
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
                }
            }
            guard ok else { throw Failure(description: "bind 127.0.0.1:0 (udp): \(String(cString: strerror(errno)))") }
            ports.append(UInt16(bigEndian: addr.sin_port))
        }
        return ports
    }

    /// How many UDP sockets of this machine's network namespace are bound
    /// to 127.0.0.1:`port` (0 when the VM runs on another host).
    static func socketsBound(to port: UInt16) -> Int {
        count(port: port, inTable: readAll("/proc/net/udp"))
    }

    /// /proc/net/udp lines: "sl local_address rem_address ...", addresses as
    /// hex "0100007F:1F90" (127.0.0.1 in the kernel's byte order, port 8080).
    static func count(port: UInt16, inTable text: String) -> Int {
        let hex = String(port, radix: 16, uppercase: true)
        let want = "0100007F:" + String(repeating: "0", count: 4 - hex.count) + hex
        return text.split(separator: "\n").count { $0.split(separator: " ").dropFirst().first == want[...] }
    }

    private static func readAll(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether a failed domain start was QEMU finding a chosen port taken.
    static func isPortInUse(_ error: any Error) -> Bool {
        "\(error)".contains("Address already in use")
    }
}

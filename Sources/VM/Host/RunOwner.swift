import Glibc

/// Which `husk vm` process a VM and its files belong to, recorded in the
/// domain's metadata and in the name of the run's work directory, so that a
/// later run removes only what provably nobody uses any more: two runs on one
/// libvirt host must never destroy each other's VMs.
///
/// A process is named by host name, boot id, pid and the pid's start time
/// (clock ticks since boot, /proc/PID/stat field 22): pids are reused, the
/// pair (pid, start time) within one boot is not.
public struct RunOwner: Sendable, Equatable {
    public var host: String
    public var boot: String
    public var pid: Int32
    public var start: UInt64

    /// The XML namespace of Husk's element in a domain's <metadata>.
    public static let namespace = "urn:husk:vm-owner:1"

    public static let current = RunOwner(host: hostName(), boot: bootID(), pid: getpid(), start: startTime(of: getpid()) ?? 0)

    public enum Liveness: Equatable, Sendable {
        case alive
        case gone
        /// Another machine (or an unreadable record): nothing can be proven.
        case unknown
    }

    /// Whether the owner still runs. Only a process on this machine can be
    /// judged: same host name and boot id, then its pid and start time.
    public var liveness: Liveness {
        let me = RunOwner.current
        guard host == me.host, !boot.isEmpty, !me.boot.isEmpty else { return .unknown }
        if boot != me.boot { return .gone }  // this machine rebooted since
        guard let s = RunOwner.startTime(of: pid) else { return .gone }
        return s == start ? .alive : .gone
    }

    /// The element stored in the domain's <metadata>.
    public var xmlElement: String {
        "<husk:owner xmlns:husk='\(RunOwner.namespace)' host='\(xmlEscape(host))' boot='\(xmlEscape(boot))' pid='\(pid)' start='\(start)'/>"
    }

    /// Parse the element libvirt gives back (attribute order and quoting may
    /// differ from what was stored); nil if it is not ours.
    public init?(xmlElement text: String) {
        // The attribute's value: after ` NAME=` and a quote, up to the same quote.
        let chars = Array(text)
        func attribute(_ name: String) -> String? {
            let key = Array(" \(name)=")
            var i = 0
            while i + key.count < chars.count {
                if Array(chars[i..<(i + key.count)]) == key, chars[i + key.count] == "'" || chars[i + key.count] == "\"" {
                    let quote = chars[i + key.count]
                    let start = i + key.count + 1
                    guard let end = chars[start...].firstIndex(of: quote) else { return nil }
                    return String(chars[start..<end])
                }
                i += 1
            }
            return nil
        }
        guard let host = attribute("host"), let boot = attribute("boot"),
            let pid = attribute("pid").flatMap({ Int32($0) }), let start = attribute("start").flatMap({ UInt64($0) })
        else {
            return nil
        }
        self.init(host: host, boot: boot, pid: pid, start: start)
    }

    public init(host: String, boot: String, pid: Int32, start: UInt64) {
        self.host = host
        self.boot = boot
        self.pid = pid
        self.start = start
    }

    /// The run directory's name: run-PID-START (within one boot).
    public var directoryName: String { "run-\(pid)-\(start)" }

    /// The owner a run directory name records, on this host and boot; nil
    /// if the name is not a run directory's.
    public static func fromDirectoryName(_ name: String) -> RunOwner? {
        let parts = name.split(separator: "-")
        guard parts.count == 3, parts[0] == "run", let pid = Int32(parts[1]), let start = UInt64(parts[2]) else { return nil }
        let me = RunOwner.current
        return RunOwner(host: me.host, boot: me.boot, pid: pid, start: start)
    }

    static func startTime(of pid: Int32) -> UInt64? {
        guard let text = readSmallFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces): state is 3, starttime is 22.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    static func bootID() -> String {
        readSmallFile("/proc/sys/kernel/random/boot_id")?.filter { !$0.isWhitespace } ?? ""
    }

    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buf, buf.count)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }
}

/// Text for an XML attribute or element.
func xmlEscape(_ s: String) -> String {
    var o = ""
    for c in s {
        switch c {
        case "&": o += "&amp;"
        case "<": o += "&lt;"
        case ">": o += "&gt;"
        case "'": o += "&apos;"
        case "\"": o += "&quot;"
        default: o.append(c)
        }
    }
    return o
}

import Glibc
import HypercallABI
import PlatformC

/// Where component log lines and host messages go: stderr, one line each,
/// prefixed with the level and the component's name. Written with a single
/// write(2) so that lines from different threads do not interleave.
public enum HostLog {
    /// Messages above this level are dropped (HUSK_LOG_*). Set once at start-up.
    nonisolated(unsafe) public static var maxLevel: UInt32 = UInt32(HUSK_LOG_INFO)
    /// Tests capture lines here instead of stderr when set.
    nonisolated(unsafe) public static var sink: (@Sendable (String) -> Void)?

    public static func levelName(_ level: UInt32) -> String {
        switch Int32(bitPattern: level) {
        case HUSK_LOG_ERROR: return "error"
        case HUSK_LOG_WARN: return "warn"
        case HUSK_LOG_INFO: return "info"
        case HUSK_LOG_DEBUG: return "debug"
        default: return "level\(level)"
        }
    }

    public static func write(level: UInt32, component: String, _ message: String) {
        guard level <= maxLevel else { return }
        let line = "[\(levelName(level))] \(component): \(message)\n"
        if let sink {
            sink(line)
            return
        }
        writeRaw(line)
    }

    public static func host(_ message: String, level: UInt32 = UInt32(HUSK_LOG_INFO)) {
        write(level: level, component: "husk", message)
    }

    static func writeRaw(_ line: String) {
        var line = line
        line.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(2, buf.baseAddress! + off, buf.count - off)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    break
                }
                off += n
            }
        }
    }
}

/// A component panic: report it naming the component, end the process with
/// the ABI's distinct status. _exit, not exit: atexit handlers and buffered
/// state of a corrupted component must not run.
public enum HostPanic {
    public static func panic(component: String, _ message: String) -> Never {
        HostLog.writeRaw("panic: \(component): \(message)\n")
        husk_exit_now(HUSK_PANIC_EXIT_STATUS)
    }
    static func panic(ctx: OpaquePointer?, _ message: String) -> Never {
        panic(component: ComponentContext.name(of: ctx), message)
    }
    static func panic(rawCtx: UnsafeMutableRawPointer?, _ message: String) -> Never {
        panic(component: ComponentContext.name(of: rawCtx), message)
    }
}

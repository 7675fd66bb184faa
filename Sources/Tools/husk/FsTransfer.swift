import FSClient
import Glibc
import RPCWire
import Synchronization

/// Ctrl-C (SIGINT) or SIGTERM during `husk fs put` / `get`. The handler
/// only records the signal, and is installed without SA_RESTART: the RPC
/// call this thread is waiting in is then interrupted, the client cancels
/// it, the server stops between its 1 MiB pieces and replies with what it
/// moved (or EINTR), and the command stops there and says how far it got
/// (docs/rpc-runtime.md, docs/fs.md). A second signal ends the process at
/// once.
enum TransferInterruption {
    private static let caught = Atomic<Int32>(0)

    static func install() {
        _ = caught.load(ordering: .relaxed)  // initialised here, never first in the handler
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { sig in
            if TransferInterruption.caught.exchange(sig, ordering: .relaxed) != 0 { _exit(128 + sig) }
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
    }

    /// The signal that interrupted the transfer, or 0.
    static var signal: Int32 { caught.load(ordering: .relaxed) }

    static var name: String { signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)" }
}

/// Copies between a local descriptor and an opened file in pieces of
/// `chunk` bytes (also the file's shared-memory window, so one call moves
/// up to that much), with progress on a terminal.
struct FsTransfer {
    static let chunk = 8 << 20
    let command: String
    let total: UInt64?
    private let progress = isatty(2) == 1
    private var lastReport = 0.0

    init(command: String, total: UInt64?) {
        self.command = command
        self.total = total
    }

    /// Local `input` into `file` from offset 0. Returns the bytes written;
    /// stops early when TransferInterruption.signal is set.
    mutating func upload(from input: Int32, localName: String, to file: OpenedFile) throws(RPCError) -> UInt64 {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var written: UInt64 = 0
        while TransferInterruption.signal == 0 {
            let n = Glibc.read(input, buffer.baseAddress, Self.chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw RPCError(errno, "reading \(localName)")
            }
            if n == 0 { break }
            var done = 0
            while done < n && TransferInterruption.signal == 0 {
                let piece = UnsafeRawBufferPointer(rebasing: buffer[done..<n])
                let wrote: Int
                do { wrote = try file.writeSome(offset: written, piece) } catch
                    where error.status == RPCStatus.intr && TransferInterruption.signal != 0
                {
                    break
                }
                if wrote == 0 { throw RPCError(RPCStatus.io, "write made no progress") }
                done += wrote
                written += UInt64(wrote)
                report(written)
            }
        }
        endReport()
        return written
    }

    /// `file` from offset 0 into local `output`. Returns the bytes copied;
    /// stops early when TransferInterruption.signal is set.
    mutating func download(from file: OpenedFile, to output: Int32, localName: String) throws(RPCError) -> UInt64 {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var copied: UInt64 = 0
        while TransferInterruption.signal == 0 {
            let got: Int
            do { got = try file.readSome(offset: copied, into: buffer) } catch
                where error.status == RPCStatus.intr && TransferInterruption.signal != 0
            {
                break
            }
            if got == 0 { break }
            var off = 0
            while off < got {
                let n = Glibc.write(output, buffer.baseAddress! + off, got - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { throw RPCError(n < 0 ? errno : EIO, "writing \(localName)") }
                off += n
            }
            copied += UInt64(got)
            report(copied)
        }
        endReport()
        return copied
    }

    private mutating func report(_ bytes: UInt64) {
        guard progress else { return }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        guard now - lastReport >= 0.25 else { return }
        lastReport = now
        let of = total.map { " of \($0 >> 20) MiB" } ?? ""
        printErrorRaw("\rhusk fs \(command): \(bytes >> 20) MiB\(of)")
    }

    private func endReport() { if progress && lastReport > 0 { printErrorRaw("\n") } }
}

private func printErrorRaw(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
}

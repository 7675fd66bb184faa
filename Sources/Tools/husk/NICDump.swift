import ArgumentParser
import Glibc
import NICClient
import Platform
import RPCInterfaces
import RPCWire

/// `husk nic dump`: a capture of an interface's frames, both directions, as
/// a pcap file.
struct NICDump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Capture an interface's frames, both directions, into a pcap file (tcpdump -r, Wireshark).",
        discussion: """
            The interface is opened as a monitor port: the capture runs beside the stack that uses the \
            interface, and sees every frame it receives and sends (sent frames are those the stack port \
            sent through the server). Stops after --count frames, after --seconds, or at SIGINT/SIGTERM; the \
            file always ends on a whole record. A line on stderr every 5 s tells how many frames so far.
              husk nic dump --socket /tmp/nic.sock --output hk0.pcap --count 100 && tcpdump -nr hk0.pcap
              husk nic dump --socket /tmp/nic.sock --output - | tcpdump -nr -
            Frames that arrive faster than the dump drains its queue (\(Nic.Limits.queueFrames) frames) are \
            dropped from the capture and counted as rx_queue_full (`husk nic info`).
            """)
    @Option(help: "Path of the NIC server's socket.") var socket: String
    @Option(help: "The interface (default: the server's only one).") var interface: String?
    @Option(help: "The pcap file to write, or - for standard output.") var output: String
    @Option(help: "Stop after this many frames.") var count: Int?
    @Option(help: "Stop after this many seconds.") var seconds: Double?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let seconds, seconds <= 0 { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        let stop = StopSignal()
        let port: NICPort
        let server: NICServerClient
        do throws(RPCError) {
            server = try NICServerClient(socket: socket)
            let names = try server.interfaces()
            let name = interface ?? names.first ?? ""
            if interface == nil && names.count != 1 {
                throw RPCError(
                    RPCStatus.inval,
                    "the server has \(names.count) interfaces (\(names.joined(separator: ", "))): choose one with --interface")
            }
            port = try server.open(name, monitor: true)
        } catch {
            printError("husk nic dump: \(socket): \(error)")
            throw ExitCode(1)
        }
        defer {
            port.close()
            server.rpc.close()
        }
        let pcap: PcapWriter
        do { pcap = try PcapWriter(path: output) } catch {
            printError("husk nic dump: \(error)")
            throw ExitCode(1)
        }
        defer { pcap.close() }
        let start = monotonicNanos()
        let end = seconds.map { start + UInt64($0 * 1e9) }
        var lastReport = start
        var failure: String?
        capture: while stop.received == 0 {
            let now = monotonicNanos()
            if let end, now >= end { break }
            let slice = min(250, end.map { UInt32(($0 - now) / 1_000_000) + 1 } ?? 250)
            let got: (frames: [NICPort.Frame], link: UInt32)
            do throws(RPCError) { got = try port.receive(timeoutMs: slice) } catch {
                failure = "receive: \(error)"
                break
            }
            for f in got.frames {
                do { try pcap.append(f.bytes, timeNanos: f.time) } catch {
                    failure = "\(error)"
                    break capture
                }
                if let count, pcap.records >= count { break capture }
            }
            if monotonicNanos() - lastReport >= 5_000_000_000 {
                lastReport = monotonicNanos()
                printError("husk nic dump: \(pcap.records) frames")
            }
        }
        printError("husk nic dump: \(pcap.records) frames written to \(output == "-" ? "standard output" : output)")
        if let failure {
            printError("husk nic dump: stopped: \(failure)")
            throw ExitCode(1)
        }
    }
}

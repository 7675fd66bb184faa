import ArgumentParser
import NICClient
import RPCInterfaces
import RPCWire

/// `husk nic info`: the server's interfaces with address, MTU, link and counters.
struct NICInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "List a NIC server's interfaces: address, MTU, link state, counters.",
        discussion: """
            Each interface is opened as a monitor port for the moment it takes to read its state, so info \
            works while a stack uses the interface. Counters (docs/nic.md): frames and bytes each way, frames \
            dropped because no stack port was open (rx_no_port) or a port's queue was full (rx_queue_full), \
            sends the driver refused (tx_errors), link changes.
            """)
    @Option(help: "Path of the NIC server's socket.") var socket: String

    func run() throws {
        do throws(RPCError) {
            let server = try NICServerClient(socket: socket)
            defer { server.rpc.close() }
            let names = try server.interfaces()
            print("server '\(server.rpc.server.name)' on \(socket): \(names.count) interface(s)")
            for n in names {
                let port = try server.open(n, monitor: true, window: 128 << 10)
                defer { port.close() }
                let link = try port.link() == 1 ? "up" : "down"
                print("\(n): mac \(macString(port.mac)) mtu \(port.mtu) link \(link) offloads 0x\(String(port.offloads, radix: 16))")
                let counters = try port.stats()
                let text = zip(Nic.Counter.allCases, counters).map { "\($0.name) \($1)" }
                print("  " + text.joined(separator: ", "))
            }
        } catch {
            printError("husk nic info: \(socket): \(error)")
            throw ExitCode(1)
        }
    }
}

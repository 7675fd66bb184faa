import ArgumentParser
import HuskHost
import HypercallABI
import Hypercalls

struct Components: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the built-in components (and any given shared objects) with ABI version, kind and dependencies.")

    @Option(name: .long, help: ArgumentHelp("Also describe this component shared object (repeatable).", valueName: "path"))
    var componentFile: [String] = []

    func run() throws {
        var all = ComponentRegistry.builtIn
        for p in componentFile {
            do { all.append(try ComponentRegistry.load(path: p)) } catch {
                printError("husk: \(error)")
                throw ExitCode(3)
            }
        }
        print("host hypercall ABI \(HUSK_ABI_MAJOR).\(HUSK_ABI_MINOR)")
        for c in all {
            let deps = c.dependencies.isEmpty ? "" : "  depends on: \(c.dependencies.joined(separator: ", "))"
            let compat =
                c.abiMismatch(hostMajor: UInt32(HUSK_ABI_MAJOR), hostMinor: UInt32(HUSK_ABI_MINOR)).map { "  REFUSED: \($0)" } ?? ""
            print(
                "\(c.name.padded(12)) \(c.kindName.padded(7)) ABI \(c.abiMajor).\(c.abiMinor)  \(c.summary)\(deps)\(compat)  [\(c.origin)]")
        }
    }
}

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the PCI devices a backend offers (index, address, vendor:device, class, BARs).",
        discussion: "Example: husk devices --backend sim --device edu --device virtio-blk:size=16M")

    @OptionGroup var backendOptions: BackendOptions

    func run() throws {
        let backend = try backendOptions.makeBackend()
        defer { backend.shutdown() }
        if backend.devices.isEmpty { print("the \(backend.name) backend offers no devices") }
        for (i, d) in backend.devices.enumerated() { print("\(i): \(d)") }
    }
}

struct ABI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abi",
        abstract: "Print the hypercall ABI version, table size and the features of a backend.")

    @OptionGroup var backendOptions: BackendOptions

    func run() throws {
        let backend = try backendOptions.makeBackend()
        let host = HypercallHost(backend: backend)
        defer { host.shutdown() }
        print("hypercall ABI \(host.abiVersion.major).\(host.abiVersion.minor), table \(host.table.pointee.size) bytes")
        print("backend \(backend.name): features \(HypercallHost.featureNames(host.features).joined(separator: " "))")
    }
}

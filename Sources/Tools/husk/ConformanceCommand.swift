import ArgumentParser
import Glibc
import HuskHost
import Hypercalls

struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run the hypercall conformance suite (a C component) on a backend.",
        discussion: """
            The suite is written in C against husk/hypercall.h only, so a port of the host runs the same \
            file. It prints one TAP-like line per check and 'N passed, M failed'. On sim, give \
            --device edu so that interrupt delivery is tested. --panic-case runs one deliberate misuse \
            that must end the process with status 86 (the ABI's panic status).
            Examples:
              husk conformance
              husk conformance --backend sim --device edu
              husk conformance --panic-case unlock_not_owned
            """)

    @OptionGroup var backendOptions: BackendOptions

    @Option(name: .long, help: ArgumentHelp("Run one misuse that must panic instead of the suite.", valueName: "case"))
    var panicCase: String?

    @Option(name: .long, help: ArgumentHelp("Run only the checks whose name contains this text (e.g. 'rwlock', 'irq').", valueName: "text"))
    var only: String?

    func run() throws {
        var params: [String: String] = [:]
        if let only { params["only"] = only }
        if let panicCase {
            // A panic ends the process with _exit: nothing after it runs, so
            // this mode gets no scratch file that would be left behind.
            params["panic_case"] = panicCase
        } else {
            // A scratch file for the block I/O checks, removed when the run ends.
            var template = Array("/tmp/husk-conformance-XXXXXX".utf8CString)
            let fd = mkstemp(&template)
            guard fd >= 0 else {
                printError("husk: cannot create a scratch file in /tmp")
                throw ExitCode(2)
            }
            let path = String(cBuffer: template)
            guard ftruncate(fd, 1 << 20) == 0 else {
                close(fd)
                unlink(path)
                printError("husk: cannot size \(path)")
                throw ExitCode(2)
            }
            close(fd)
            params["blk_path"] = path
        }
        defer { if let path = params["blk_path"] { unlink(path) } }
        guard let suite = ComponentRegistry.builtIn(named: "conformance") else { throw ExitCode(2) }
        let status = try hostComponents([suite], parameters: ["conformance": params], backendOptions: backendOptions, once: true)
        if status != 0 { throw ExitCode(status) }
    }
}

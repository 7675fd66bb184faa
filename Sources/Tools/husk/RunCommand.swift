import ArgumentParser
import Glibc
import HuskHost
import Hypercalls
import Platform

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load components on a backend and run them until they finish or a signal arrives.",
        discussion: """
            The host checks each component's ABI version (a component needing a newer hypercall ABI is \
            refused with both versions named, and the others still run), orders components so that \
            dependencies initialise first, runs each component's main job on its own thread, and on \
            SIGINT/SIGTERM cancels those jobs (their sleeps and waits return EINTR), then finalises every \
            component in reverse order. A second signal exits at once.

            Several --component and --component-file options are loaded together. A file that cannot be \
            loaded (missing, not a component, unresolved symbols) is refused like a component whose init \
            fails: the others still run and the exit status is 3. A component name given twice (the same \
            file twice, two files, or a file and a built-in) keeps the first one given and refuses the \
            later copies.

            Exit status: 0 all good; 1 a component's job failed; 2 bad arguments or backend; \
            3 a component was refused; 86 a component panicked.

            Examples:
              husk run --component blkcopy --param blkcopy.src=in.img --param blkcopy.dst=out.img
              husk run --backend sim --device edu --component edu --component blkcopy --param ...
              husk run --component-file ./mycomponent.so --once
            """
    )

    @OptionGroup var backendOptions: BackendOptions

    @Option(name: .long, help: ArgumentHelp("A built-in component to load (repeatable; see `husk components`).", valueName: "name"))
    var component: [String] = []

    @Option(name: .long, help: ArgumentHelp("A component shared object to dlopen (repeatable).", valueName: "path"))
    var componentFile: [String] = []

    @Option(name: .long, help: ArgumentHelp("A component parameter, COMPONENT.KEY=VALUE (repeatable).", valueName: "c.k=v"))
    var param: [String] = []

    @Flag(name: .long, help: "Exit right after initialisation when no component has a main job (instead of serving until a signal).")
    var once = false

    func validate() throws {
        if component.isEmpty && componentFile.isEmpty {
            throw ValidationError("nothing to run: give --component NAME or --component-file PATH (see `husk components`)")
        }
        for c in component where ComponentRegistry.builtIn(named: c) == nil {
            throw ValidationError(
                "no built-in component '\(c)'; built-in: \(ComponentRegistry.builtIn.map(\.name).joined(separator: ", "))")
        }
        _ = try parseParameters(param)
    }

    func run() throws {
        let parameters = try parseParameters(param)
        var descriptors = component.compactMap { ComponentRegistry.builtIn(named: $0) }
        // A file that cannot be loaded is refused like a component whose
        // init fails: the others still run, and the exit status says 3.
        var unloadable: [(path: String, reason: String)] = []
        for path in componentFile {
            do { descriptors.append(try ComponentRegistry.load(path: path)) } catch {
                unloadable.append((path, "\(error)"))
            }
        }
        let status = try hostComponents(
            descriptors, parameters: parameters, backendOptions: backendOptions, once: once,
            unloadable: unloadable)
        if status != 0 { throw ExitCode(status) }
    }
}

/// "c.k=v" options into per-component dictionaries.
func parseParameters(_ params: [String]) throws -> [String: [String: String]] {
    var out: [String: [String: String]] = [:]
    for p in params {
        guard let eq = p.firstIndex(of: "="), let dot = p[..<eq].firstIndex(of: "."),
            dot > p.startIndex, p.index(after: dot) < eq
        else {
            throw ValidationError("--param '\(p)' is not COMPONENT.KEY=VALUE")
        }
        out[String(p[..<dot]), default: [:]][String(p[p.index(after: dot)..<eq])] = String(p[p.index(after: eq)...])
    }
    return out
}

/// Load, run and shut down; returns the process exit status.
func hostComponents(
    _ descriptors: [ComponentDescriptor], parameters: [String: [String: String]],
    backendOptions: BackendOptions, once: Bool,
    unloadable: [(path: String, reason: String)] = []
) throws -> Int32 {
    let stop = StopFlag()
    SignalWatcher.start { sig in
        HostLog.host("signal \(sig): cancelling component jobs")
        stop.trigger()
    }
    let backend = try backendOptions.makeBackend()
    let host = ComponentHost(backend: backend)
    stop.onTrigger { host.cancelRuns() }
    HostLog.host(
        "backend \(backend.name): ABI \(host.hypercalls.abiVersion.major).\(host.hypercalls.abiVersion.minor), features \(HypercallHost.featureNames(host.hypercalls.features).joined(separator: ","))"
    )
    for u in unloadable { host.refuseUnloadable(u.path, u.reason) }
    host.load(descriptors, parameters: parameters)
    var status: Int32 = 0
    let hasJobs = host.loaded.contains { $0.descriptor.raw.pointee.run != nil }
    if hasJobs {
        host.startRuns()
        for r in host.waitRuns() {
            HostLog.host(
                "\(r.name) finished: "
                    + (r.status == 0 ? "OK" : "status \(r.status) (as an ABI error code: \(HypError.name(of: r.status)))"))
            if r.status != 0 { status = 1 }
        }
    } else if !once && !host.loaded.isEmpty {
        HostLog.host("no component has a main job; serving until SIGINT or SIGTERM")
        stop.wait()
    }
    host.shutdown()
    if status == 0 && !host.refused.isEmpty { status = 3 }
    return status
}

/// Set once by the signal thread; the main thread may wait for it.
final class StopFlag: @unchecked Sendable {
    // @unchecked: all state behind `monitor`.
    private let monitor = Monitor()
    private var triggered = false
    private var action: (@Sendable () -> Void)?

    func onTrigger(_ a: @escaping @Sendable () -> Void) {
        let fire = monitor.withLock {
            action = a
            return triggered
        }
        if fire { a() }
    }

    func trigger() {
        let a = monitor.withLock {
            triggered = true
            monitor.broadcast()
            return action
        }
        a?()
    }

    func wait() {
        monitor.withLock { while !triggered { monitor.wait() } }
    }
}

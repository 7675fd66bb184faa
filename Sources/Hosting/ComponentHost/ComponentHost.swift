import Glibc
import Glue
import HypercallABI
import Hypercalls

/// Hosts components on one backend: checks versions and dependencies,
/// initialises in dependency order, runs their main jobs on cancellable
/// threads, finalises in reverse order.
public final class ComponentHost: @unchecked Sendable {
    // @unchecked: mutated only from the thread that drives the host (the CLI's
    // main thread or a test); run threads only write their own RunSlot.
    public let hypercalls: HypercallHost
    public private(set) var loaded: [LoadedComponent] = []
    public private(set) var refused: [(name: String, reason: String)] = []

    public final class LoadedComponent: @unchecked Sendable {
        // @unchecked: `result` is written by the run thread before it ends and
        // read only after join.
        public let descriptor: ComponentDescriptor
        public let context: ComponentContext
        public fileprivate(set) var runThread: husk_handle = 0
        public fileprivate(set) var result: Int32?
        init(descriptor: ComponentDescriptor, context: ComponentContext) {
            self.descriptor = descriptor
            self.context = context
        }
    }

    public init(backend: any HostBackend) {
        hypercalls = HypercallHost(backend: backend)
        hypercalls.activate()
        Glue.bind(UnsafePointer(hypercalls.table))
    }

    /// Check, order and initialise. Refusals are collected in `refused` and
    /// logged; the host keeps running with what could be loaded.
    public func load(_ components: [ComponentDescriptor], parameters: [String: [String: String]] = [:]) {
        let (major, minor) = hypercalls.abiVersion
        var early: [String: String] = [:]
        for c in components {
            if !c.hasValidName {
                early[c.name] = "component name '\(c.name)' is not [a-z0-9_-]+"
            } else if let why = c.abiMismatch(hostMajor: major, hostMinor: minor) {
                early[c.name] = why
            } else if c.raw.pointee.`init` == nil {
                early[c.name] = "component '\(c.name)' has no init function"
            }
        }
        let plan = DependencyOrder.order(components, refused: early)
        for r in plan.refused { refuse(r.name, r.reason) }
        let refusedNames = Set(plan.refused.map { $0.name })
        for c in plan.ordered {
            if let dep = c.dependencies.first(where: { dep in refusedNames.contains(dep) || refused.contains { r in r.name == dep } }) {
                refuse(c.name, "component '\(c.name)' depends on '\(dep)', which failed to initialise")
                continue
            }
            let ctx = ComponentContext(name: c.name, parameters: parameters[c.name] ?? [:])
            let status = HypercallThreads.acting(as: ctx.pointer) { c.raw.pointee.`init`!(ctx.pointer, UnsafePointer(hypercalls.table)) }
            if status != HUSK_OK {
                ctx.retire()
                refuse(c.name, "component '\(c.name)' init failed: \(HypError.name(of: status))")
                continue
            }
            HostLog.host("loaded \(c.name) (\(c.kindName), ABI \(c.abiMajor).\(c.abiMinor), \(c.origin))")
            loaded.append(LoadedComponent(descriptor: c, context: ctx))
        }
    }

    /// Record a component that never reached `load` (e.g. a shared object
    /// that failed to open): it counts as refused, like the others.
    public func refuseUnloadable(_ name: String, _ reason: String) { refuse(name, reason) }

    private func refuse(_ name: String, _ reason: String) {
        refused.append((name, reason))
        HostLog.host("refused: \(reason)", level: UInt32(HUSK_LOG_ERROR))
    }

    /// Start every loaded component's `run` on its own thread, as that component.
    public func startRuns() {
        for lc in loaded where lc.descriptor.raw.pointee.run != nil && lc.runThread == 0 {
            let arg = Unmanaged.passRetained(lc).toOpaque()
            // A host thread in the ABI's sense: cancellable and joinable, but
            // not the component's own, so thread_exit on it is a panic.
            let created = HypercallThreads.create(
                ctx: lc.context.pointer, name: "run",
                fn: { raw in
                    let lc = Unmanaged<LoadedComponent>.fromOpaque(raw!).takeRetainedValue()
                    lc.result = lc.descriptor.raw.pointee.run!(lc.context.pointer)
                }, arg: arg, joinable: true, hostThread: true)
            switch created {
            case .success(let h): lc.runThread = h
            case .failure(let e):
                Unmanaged<LoadedComponent>.fromOpaque(arg).release()
                lc.result = e.code
            }
        }
    }

    /// Ask every running `run` to stop (sets the threads' cancellation flags).
    public func cancelRuns() {
        for lc in loaded where lc.runThread != 0 { _ = HypercallThreads.cancel(lc.runThread) }
    }

    /// Wait for every started `run`; returns (name, status) in load order.
    @discardableResult
    public func waitRuns() -> [(name: String, status: Int32)] {
        var out: [(String, Int32)] = []
        for lc in loaded where lc.runThread != 0 {
            _ = HypercallThreads.join(lc.runThread)
            lc.runThread = 0
            out.append((lc.descriptor.name, lc.result ?? HUSK_EIO))
        }
        return out.map { (name: $0.0, status: $0.1) }
    }

    /// Finalise in reverse order, then release the backend.
    public func shutdown() {
        for lc in loaded.reversed() {
            if let fini = lc.descriptor.raw.pointee.fini {
                HypercallThreads.acting(as: lc.context.pointer) { fini(lc.context.pointer) }
            }
            Glue.componentFinished(lc.context.pointer)
            // Accounting names the component: what it still holds after fini
            // (and after the glue reclaimed its objects) is a leak.
            let ctx = lc.context
            if ctx.bytesAllocated != 0 || ctx.dmaBytes != 0 {
                HostLog.host(
                    "\(lc.descriptor.name) leaked \(ctx.bytesAllocated) bytes of memory and \(ctx.dmaBytes) bytes of DMA memory",
                    level: UInt32(HUSK_LOG_WARN))
            }
            let sync = ctx.reclaimSyncObjects()
            if !sync.isEmpty {
                HostLog.host(
                    "\(lc.descriptor.name) never destroyed \(sync.count) lock(s) and condition variable(s): "
                        + sync.prefix(8).joined(separator: ", ") + (sync.count > 8 ? ", ..." : ""),
                    level: UInt32(HUSK_LOG_WARN))
            }
            lc.context.retire()
        }
        loaded = []
        hypercalls.shutdown()
    }
}

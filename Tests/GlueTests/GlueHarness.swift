import Glibc
import GlueAPI
import HuskHost
import HypercallABI
import Hypercalls
import Synchronization
import XCTest

/// Runs test code as a component on a real ComponentHost (the hypercall
/// table, a real backend, the glue bound by the host), so the glue is tested
/// through the same path components use: no mocks.
///
/// The body runs inside the test component's init, on the test's thread,
/// with ctx_current() = the test component. After it returns the host
/// finalises everything, which runs Glue.componentFinished.
enum GlueHarness {
    /// The body for the component's init: a C function pointer cannot
    /// capture, so it is handed over here. Tests run one at a time.
    nonisolated(unsafe) static var body: (() -> Void)?

    /// `parameters`: the test component's module parameters (what
    /// `--param gluetest.KEY=VALUE` would give it).
    static func run(
        backend: String = "posix", devices: [String] = [], with others: [ComponentDescriptor] = [],
        parameters: [String: String] = [:], _ body: @escaping () -> Void
    ) throws {
        let host = ComponentHost(backend: try BackendFactory.make(name: backend, devices: devices))
        GlueHarness.body = body
        defer { GlueHarness.body = nil }
        host.load(others + [descriptor(depends: others.map(\.name))], parameters: ["gluetest": parameters])
        XCTAssertEqual(host.refused.map(\.reason), [], "components refused")
        host.shutdown()
    }

    private static func descriptor(depends: [String]) -> ComponentDescriptor {
        let c = UnsafeMutablePointer<husk_component>.allocate(capacity: 1)
        c.initialize(to: husk_component())
        c.pointee.abi_major = UInt32(HUSK_ABI_MAJOR)
        c.pointee.abi_minor = 0
        c.pointee.name = UnsafePointer(strdup("gluetest"))
        c.pointee.description = UnsafePointer(strdup("glue tests"))
        c.pointee.kind = UInt32(HUSK_KIND_OTHER)
        if !depends.isEmpty {
            let deps = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: depends.count + 1)
            for (i, d) in depends.enumerated() { deps[i] = UnsafePointer(strdup(d)) }
            deps[depends.count] = nil
            c.pointee.depends = UnsafePointer(deps)
        }
        c.pointee.`init` = { _, _ in
            GlueHarness.body?()
            return HUSK_OK
        }
        return ComponentDescriptor(raw: UnsafePointer(c), origin: "test")
    }

    /// Poll until cond holds or timeout; the glue's clock and sleep.
    @discardableResult
    static func waitUntil(timeoutMs: UInt64 = 5000, _ cond: () -> Bool) -> Bool {
        let end = glue_uptime_ns() + timeoutMs * 1_000_000
        while !cond() {
            if glue_uptime_ns() >= end { return false }
            _ = glue_sleep_ns(1_000_000)
        }
        return true
    }
}

/// State a C callback updates, reached through its `void *arg`.
final class Recorder: @unchecked Sendable {
    // @unchecked: all state behind `state`'s lock.
    struct State {
        var times: [UInt64] = []
        var values: [Int] = []
        var flags: Set<String> = []
    }
    let state = Mutex(State())
    var arg: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
    static func from(_ p: UnsafeMutableRawPointer?) -> Recorder { Unmanaged<Recorder>.fromOpaque(p!).takeUnretainedValue() }

    var count: Int { state.withLock { $0.times.count } }
    var times: [UInt64] { state.withLock { $0.times } }
    var values: [Int] { state.withLock { $0.values } }
    func has(_ f: String) -> Bool { state.withLock { $0.flags.contains(f) } }
    func set(_ f: String) { state.withLock { _ = $0.flags.insert(f) } }
    func tick() {
        let now = glue_uptime_ns()
        state.withLock { $0.times.append(now) }
    }
    func append(_ v: Int) { state.withLock { $0.values.append(v) } }
}

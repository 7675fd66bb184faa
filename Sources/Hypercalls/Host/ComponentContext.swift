import Glibc
import HypercallABI
import Platform

/// The host's side of a component's `husk_ctx *`: its name (for logs and
/// panics), configuration (module parameters) and resource accounting.
/// The pointer handed to C is this object's unretained address; the host
/// keeps the object alive in `live` until the component is unloaded.
public final class ComponentContext: @unchecked Sendable {
    // @unchecked: immutable after init except the counters, which are only
    // touched under `lock`.
    public let name: String
    public let parameters: [String: String]
    private let lock = Monitor()
    private var _bytesAllocated: Int = 0
    private var _dmaBytes: Int = 0
    private var _threadsCreated: Int = 0

    public init(name: String, parameters: [String: String] = [:]) {
        self.name = name
        self.parameters = parameters
        ComponentContext.registry.withLock { $0[UInt(bitPattern: self.pointer)] = self }
    }

    /// The mutexes, rwlocks and condition variables this component created
    /// and never destroyed, freed now that it has finished; their
    /// descriptions for the leak report.
    public func reclaimSyncObjects() -> [String] { SyncSlab.reclaim(ownedBy: pointer) }

    /// Forget this context: calls with its pointer will no longer be attributed.
    public func retire() {
        _ = ComponentContext.registry.withLock { $0.removeValue(forKey: UInt(bitPattern: self.pointer)) }
    }

    public var pointer: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// The context behind a pointer a component passed in, if it is live.
    static func from(_ p: OpaquePointer?) -> ComponentContext? {
        guard let p else { return nil }
        return registry.withLock { $0[UInt(bitPattern: p)] }
    }

    /// Name for messages; "?" for a pointer the host does not know.
    static func name(of p: OpaquePointer?) -> String { from(p)?.name ?? "(unknown component)" }
    static func name(of raw: UnsafeMutableRawPointer?) -> String { name(of: raw.map(OpaquePointer.init)) }

    func account(bytes: Int) { lock.withLock { _bytesAllocated += bytes } }
    func account(dmaBytes: Int) { lock.withLock { _dmaBytes += dmaBytes } }
    func accountThreadCreated() { lock.withLock { _threadsCreated += 1 } }

    public var bytesAllocated: Int { lock.withLock { _bytesAllocated } }
    public var dmaBytes: Int { lock.withLock { _dmaBytes } }
    public var threadsCreated: Int { lock.withLock { _threadsCreated } }

    private static let registry = Locked<[UInt: ComponentContext]>([:])
}

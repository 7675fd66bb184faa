/// The control interface (interface 0, docs/protocol.md §4): the one list of
/// its operation ids, for the server, the clients and the fuzzer.
public enum RPCControl {
    public static let interface: UInt32 = 0
    /// The highest version of the control interface (2: the call rings of
    /// protocol §11); a server reports at most the version a client asks for.
    public static let version: UInt32 = 2
    /// HELLO reply `features` bits (protocol §4).
    public static let featureRing: UInt16 = 1 << 0

    public enum Operation: UInt32, CaseIterable, Sendable {
        case hello = 1
        case ping = 2
        case registerShm = 3
        case unregisterShm = 4
        case stats = 5
        /// Control interface version 2 (protocol §11).
        case ringSetup = 6
        case ringWake = 7

        /// The name policies and logs use ("control.ping").
        public var name: String {
            switch self {
            case .hello: return "hello"
            case .ping: return "ping"
            case .registerShm: return "register_shm"
            case .unregisterShm: return "unregister_shm"
            case .stats: return "stats"
            case .ringSetup: return "ring_setup"
            case .ringWake: return "ring_wake"
            }
        }
    }

    /// The name of any operation number, known or not.
    public static func name(_ operation: UInt32) -> String { Operation(rawValue: operation)?.name ?? "op\(operation)" }
}

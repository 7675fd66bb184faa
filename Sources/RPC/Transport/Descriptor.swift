import Glibc

/// Sole owner of an open descriptor: it is closed exactly once, when the
/// owner goes out of scope, unless ownership is handed on with `take()`.
/// `~Copyable`, so a double close or a forgotten close of a moved value does
/// not compile.
public struct OwnedDescriptor: ~Copyable {
    public let raw: Int32
    public init(_ raw: Int32) { self.raw = raw }
    /// Hand the descriptor on without closing it.
    public consuming func take() -> Int32 {
        let r = raw
        discard self
        return r
    }
    deinit { if raw >= 0 { _ = Glibc.close(raw) } }
}

/// Close every descriptor of a list (descriptors of a rejected message).
public func closeDescriptors(_ fds: [Int32]) {
    for fd in fds where fd >= 0 { _ = Glibc.close(fd) }
}

/// A failed transport operation: an errno value and what was attempted.
public struct TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    public let errno: Int32
    public let operation: String
    public init(_ errno: Int32, _ operation: String) {
        self.errno = errno
        self.operation = operation
    }
    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }
    static func last(_ operation: String) -> TransportError { TransportError(Glibc.errno, operation) }
}

import RPCWire

// Hand-written support for the stubs husk-rpcgen generates into Generated/
// (docs/idl.md). Everything here is used by generated code; the types are
// public so that servers and clients can use them too.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A generated request or reply: encodes to a payload plus descriptors and
/// decodes from them, refusing anything that is not exactly one message.
public protocol RPCGeneratedMessage: Sendable {
    /// The payload (fd fields travel as descriptors, not in the payload).
    func encode() -> [UInt8]
    /// The fd fields, in declaration order.
    var descriptors: [Int32] { get }
    /// Decode from `reader`, which must hold exactly this message; fd fields
    /// are taken with `takeDescriptor` once the payload has been checked.
    static func decode(_ reader: inout PayloadReader, takeDescriptor: () -> Int32?) -> Self?
}

extension RPCGeneratedMessage {
    /// Decode a whole received message. On failure, and when more
    /// descriptors came than the message declares, every descriptor is
    /// closed and the result is nil.
    public static func decode(_ payload: [UInt8], descriptors: [Int32] = []) -> Self? {
        var queue = descriptors[...]
        let message = payload.withUnsafeBytes { buffer -> Self? in
            var reader = PayloadReader(buffer)
            return decode(&reader, takeDescriptor: { queue.popFirst() })
        }
        if !queue.isEmpty {
            RPCGenSupport.close(Array(queue))
            if let message { RPCGenSupport.close(message.descriptors) }
            return nil
        }
        return message
    }
}

/// Helpers the generated code calls.
public enum RPCGenSupport {
    /// A `string` field: UTF-8 without NUL (docs/protocol.md §5).
    public static func string(_ r: inout PayloadReader) -> String? {
        guard let bytes = r.bytes(), !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// A `[T]` field: the count is checked against the bytes that remain
    /// before anything is allocated.
    public static func array<T>(_ r: inout PayloadReader, elementSize: Int, _ element: (inout PayloadReader) -> T?) -> [T]? {
        guard let n = r.count(minElementSize: elementSize) else { return nil }
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            guard let v = element(&r) else { return nil }
            out.append(v)
        }
        return out
    }

    /// Close descriptors a failed decode had taken.
    public static func close(_ fds: [Int32]) {
        for fd in fds where fd >= 0 {
            #if canImport(Glibc)
                _ = Glibc.close(fd)
            #elseif canImport(Musl)
                _ = Musl.close(fd)
            #elseif canImport(Darwin)
                _ = Darwin.close(fd)
            #endif
        }
    }

    /// Run a service method and turn its result into a reply. A thrown
    /// status 0 would be a successful reply without payload: it becomes EIO.
    public static func reply<M: RPCGeneratedMessage>(_ body: () throws(RPCError) -> M) -> RPCReplyBody {
        do {
            let m = try body()
            return RPCReplyBody(status: RPCStatus.ok, payload: m.encode(), descriptors: m.descriptors)
        } catch {
            return .error(error.status == RPCStatus.ok ? RPCStatus.io : error.status)
        }
    }

    /// One client call: encode, call, decode. An undecodable reply is EPROTO.
    public static func call<Request: RPCGeneratedMessage, Reply: RPCGeneratedMessage>(
        _ caller: any RPCCaller, interface: UInt32, operation: UInt32, request: Request, idempotent: Bool,
        as: Reply.Type = Reply.self
    ) throws(RPCError) -> Reply {
        let response = try caller.call(
            interface: interface, operation: operation, payload: request.encode(),
            descriptors: request.descriptors, idempotent: idempotent)
        guard let reply = Reply.decode(response.payload, descriptors: response.descriptors) else {
            throw RPCError(RPCStatus.proto, "undecodable reply to interface \(interface) operation \(operation)")
        }
        return reply
    }
}

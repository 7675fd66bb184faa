import RPCWire

// Hand-written, next to the generated Echo.swift: operations appended to
// echo after version 1's first eight (op 9 notify) get an ENOSYS default,
// so an EchoService written before them (e.g. Tests/RPCGenTests' FakeEcho)
// still compiles and answers "unknown operation", as the ABI's
// append-only rule intends.
extension EchoService {
    public func notify(_ request: Echo.NotifyRequest, call: any RPCCall) throws(RPCError) -> Echo.NotifyReply {
        throw RPCError(RPCStatus.nosys)
    }
}

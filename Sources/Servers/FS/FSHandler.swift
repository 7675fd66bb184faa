import RPCInterfaces
import RPCWire

/// The fs interface as the server registers it: the generated dispatcher,
/// with the metadata operations and the inline transfers (at most 64 KiB)
/// run on the connection's reader thread instead of a worker
/// (RPCInterfaceHandler.runsInline). They take microseconds, and the
/// hand-off to a worker was the largest part of a stat or an unlink
/// (docs/BENCHMARKS.md, the fs section). Transfers through shared memory
/// (up to the client's window), fsync, sync and setattr (a truncation
/// frees blocks) stay on workers, where a CANCEL reaches them. An inline
/// operation may still wait for the file system's one lock while another
/// connection's long transfer holds it; this connection reads nothing
/// meanwhile, which only matters to a client with other calls in flight
/// on it.
public struct FSHandler: RPCInterfaceHandler {
    let dispatcher: FsDispatcher

    public init(_ service: FSService) { dispatcher = FsDispatcher(service) }

    public var interfaceID: UInt32 { dispatcher.interfaceID }
    public var interfaceVersion: UInt32 { dispatcher.interfaceVersion }
    public var interfaceName: String { dispatcher.interfaceName }
    public var operationNames: [UInt32: String] { dispatcher.operationNames }

    public func dispatch(operation: UInt32, payload: UnsafeRawBufferPointer, call: any RPCCall) -> RPCReplyBody {
        dispatcher.dispatch(operation: operation, payload: payload, call: call)
    }

    static let inline: Set<UInt32> = Set(
        [
            Fs.Operation.statfs, .lookup, .getattr, .readdir, .readlink, .unlink, .mkdir, .rmdir, .rename, .symlink, .link,
            .openHandle, .createHandle, .handleReadInline, .handleWriteInline, .closeHandle, .closeHandles
        ].map(\.rawValue))

    public func runsInline(operation: UInt32) -> Bool { Self.inline.contains(operation) }
}

/// The fixed newstyle negotiation phase, from the server greeting to the
/// export the client settled on (NBD_OPT_GO or NBD_OPT_EXPORT_NAME).
/// Anything malformed ends the connection: `run` returns nil and the caller
/// closes the socket. Only the options listed in docs/nbd.md are
/// understood; the rest get NBD_REP_ERR_UNSUP.
struct Negotiation {
    let socket: StreamSocket
    let config: ServerConfig
    let peer: String
    private var noZeroes = false

    init(socket: StreamSocket, config: ServerConfig, peer: String) {
        self.socket = socket
        self.config = config
        self.peer = peer
    }

    enum Outcome {
        case transmit(Export)
        case close(String)
    }

    mutating func run() -> Outcome {
        var hello = WireWriter()
        hello.u64(NBD.initMagic)
        hello.u64(NBD.optionMagic)
        hello.u16(NBD.flagFixedNewstyle | NBD.flagNoZeroes)
        guard socket.write(hello.bytes) else { return .close("greeting not sent") }

        guard let cf = socket.read(4), let clientFlags = WireReader(cf).u32Value else {
            return .close("no client flags")
        }
        // Unknown client flags mean a client expecting something we do not
        // do: the protocol says to close.
        guard clientFlags & ~(NBD.clientFixedNewstyle | NBD.clientNoZeroes) == 0 else {
            return .close("unknown client flags 0x\(String(clientFlags, radix: 16))")
        }
        noZeroes = clientFlags & NBD.clientNoZeroes != 0

        while true {
            guard let head = socket.read(16) else { return .close("option header truncated") }
            var r = WireReader(head)
            let magic = r.u64()!, option = r.u32()!, length = r.u32()!
            guard magic == NBD.optionMagic else { return .close("bad option magic") }
            guard length <= NBDLimits.maxOptionData else {
                return .close("option \(option) with \(length) bytes of data (at most \(NBDLimits.maxOptionData))")
            }
            guard let data = socket.read(Int(length)) else { return .close("option data truncated") }

            switch option {
            case NBD.optExportName:
                return exportName(data)
            case NBD.optAbort:
                _ = reply(option, NBD.repAck)
                return .close("client aborted")
            case NBD.optList:
                guard list(data) else { return .close("send failed") }
            case NBD.optInfo, NBD.optGo:
                switch infoOrGo(option, data) {
                case .failed: return .close("send failed")
                case .again: continue
                case .go(let e): return .transmit(e)
                }
            case NBD.optStructuredReply:
                // Simple replies only: the client falls back to them.
                let t = data.isEmpty ? NBD.repErrUnsup : NBD.repErrInvalid
                guard reply(option, t, message: "structured replies are not supported") else { return .close("send failed") }
            default:
                // STARTTLS, metadata contexts and anything newer.
                guard reply(option, NBD.repErrUnsup, message: "option \(option) is not supported") else { return .close("send failed") }
            }
        }
    }

    // MARK: Options

    /// NBD_OPT_EXPORT_NAME: no way to report an error, so an unknown name
    /// closes the connection (as the protocol prescribes).
    private func exportName(_ data: [UInt8]) -> Outcome {
        let name = String(decoding: data, as: UTF8.self)
        guard let export = config.open(name) else {
            config.log("nbd: \(peer): unknown export '\(name)' (NBD_OPT_EXPORT_NAME)")
            return .close("unknown export")
        }
        var w = WireWriter(capacity: 134)
        w.u64(export.size)
        w.u16(export.transmissionFlags)
        if !noZeroes { w.zeroes(124) }
        return socket.write(w.bytes) ? .transmit(export) : .close("send failed")
    }

    private func list(_ data: [UInt8]) -> Bool {
        guard data.isEmpty else { return reply(NBD.optList, NBD.repErrInvalid, message: "NBD_OPT_LIST takes no data") }
        for name in config.exportNames() {
            let utf8 = Array(name.utf8)
            var w = WireWriter()
            w.u32(UInt32(utf8.count))
            w.append(utf8)
            guard reply(NBD.optList, NBD.repServer, data: w.bytes) else { return false }
        }
        return reply(NBD.optList, NBD.repAck)
    }

    private enum InfoResult { case failed, again, go(Export) }

    /// NBD_OPT_INFO / NBD_OPT_GO: name length, name, count of information
    /// requests, the requests (16 bits each). NBD_INFO_EXPORT and
    /// NBD_INFO_BLOCK_SIZE are always sent (the protocol allows unrequested
    /// block sizes); other requested items are silently not provided.
    private func infoOrGo(_ option: UInt32, _ data: [UInt8]) -> InfoResult {
        var r = WireReader(data)
        guard let nameLength = r.u32(), nameLength <= UInt32(r.remaining), let nameBytes = r.take(Int(nameLength)),
            let count = r.u16(), r.remaining == Int(count) * 2
        else {
            return reply(option, NBD.repErrInvalid, message: "malformed request") ? .again : .failed
        }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard let export = config.open(name) else {
            let shown = name.isEmpty ? "(default)" : name
            config.log("nbd: \(peer): unknown export '\(shown)'")
            return reply(option, NBD.repErrUnknown, message: "export '\(shown)' is not known to this server") ? .again : .failed
        }
        var info = WireWriter()
        info.u16(NBD.infoExport)
        info.u64(export.size)
        info.u16(export.transmissionFlags)
        var sizes = WireWriter()
        let bs = export.blockSizes
        sizes.u16(NBD.infoBlockSize)
        sizes.u32(bs.minimum)
        sizes.u32(bs.preferred)
        sizes.u32(bs.maximum)
        guard reply(option, NBD.repInfo, data: info.bytes), reply(option, NBD.repInfo, data: sizes.bytes),
            reply(option, NBD.repAck)
        else { return .failed }
        return option == NBD.optGo ? .go(export) : .again
    }

    // MARK: Replies

    private func reply(_ option: UInt32, _ type: UInt32, data: [UInt8] = []) -> Bool {
        var w = WireWriter(capacity: 20 + data.count)
        w.u64(NBD.replyMagic)
        w.u32(option)
        w.u32(type)
        w.u32(UInt32(data.count))
        w.append(data)
        return socket.write(w.bytes)
    }

    /// Error replies carry a human-readable message (clients print it).
    private func reply(_ option: UInt32, _ type: UInt32, message: String) -> Bool {
        reply(option, type, data: Array(message.utf8))
    }
}

extension WireReader {
    fileprivate var u32Value: UInt32? {
        var c = self
        return c.u32()
    }
}

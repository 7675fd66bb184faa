import GlueAPI
import HypercallABI

// C entry points of husk/glue/netif.h; the registry is Netifs.

@_cdecl("glue_netif_register")
public func glue_netif_register(_ n: UnsafePointer<netif>?) -> Int32 {
    guard let n else { return HUSK_EINVAL }
    return Netifs.shared.register(n, ctx: Hyp.currentOrNil)
}

@_cdecl("glue_netif_unregister")
public func glue_netif_unregister(_ n: UnsafePointer<netif>?) {
    guard let n else { return }
    Netifs.shared.unregister(n, ctx: Hyp.currentOrNil)
}

@_cdecl("glue_netif_input")
public func glue_netif_input(_ n: UnsafePointer<netif>?, _ frame: UnsafeMutableRawPointer?, _ len: Int) -> Int32 {
    guard let n else { return HUSK_ENODEV }
    return Netifs.shared.input(n, frame: frame, len: len)
}

@_cdecl("glue_netif_link")
public func glue_netif_link(_ n: UnsafePointer<netif>?, _ link: UInt32) {
    guard let n else { return }
    guard link == NETIF_LINK_DOWN || link == NETIF_LINK_UP else {
        Hyp.panic(Hyp.currentOrNil, "netif_link: link state \(link) is neither NETIF_LINK_DOWN nor NETIF_LINK_UP")
    }
    Netifs.shared.link(n, state: link)
}

@_cdecl("glue_netif_open")
public func glue_netif_open(
    _ name: UnsafePointer<CChar>?, _ c: UnsafePointer<netif_consumer>?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guard let name, let c, let out, c.pointee.input != nil else { return HUSK_EINVAL }
    switch Netifs.shared.open(String(cString: name), consumer: c.pointee, ctx: Hyp.currentOrNil) {
    case .failure(let e): return e.code
    case .success(let ref):
        out.pointee = OpaquePointer(Unmanaged.passRetained(ref).toOpaque())
        return HUSK_OK
    }
}

@_cdecl("glue_netif_close")
public func glue_netif_close(_ p: OpaquePointer?) {
    guard let p else { return }
    let ref = Unmanaged<NetifReference>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    Netifs.shared.close(ref, ctx: Hyp.currentOrNil)
    Unmanaged.passUnretained(ref).release()
}

@_cdecl("glue_netif_info")
public func glue_netif_info(_ p: OpaquePointer?, _ out: UnsafeMutablePointer<netif_info>?) {
    guard let p, let out else { Hyp.panic(Hyp.currentOrNil, "netif_info: NULL argument") }
    out.pointee = Netifs.shared.info(Unmanaged<NetifReference>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue())
}

@_cdecl("glue_netif_send")
public func glue_netif_send(_ p: OpaquePointer?, _ frame: UnsafeRawPointer?, _ len: Int) -> Int32 {
    guard let p else { return HUSK_EBADF }
    return Netifs.shared.send(Unmanaged<NetifReference>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue(), frame: frame, len: len)
}

@_cdecl("glue_netif_rx_done")
public func glue_netif_rx_done(_ p: OpaquePointer?, _ frame: UnsafeMutableRawPointer?) {
    guard let p else { Hyp.panic(Hyp.currentOrNil, "netif_rx_done: NULL reference") }
    let ref = Unmanaged<NetifReference>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    Netifs.shared.rxDone(ref, frame: frame, ctx: Hyp.currentOrNil)
}

extension Glue {
    /// Names of the network interfaces registered now, sorted.
    public static func netifNames() -> [String] { Netifs.shared.names() }
}

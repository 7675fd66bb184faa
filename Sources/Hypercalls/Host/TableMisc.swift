import Glibc
import HypercallABI
import PlatformC

/// Random bytes, logging, panic and component configuration.
extension HypercallHost {
    static func fillMisc(_ t: UnsafeMutablePointer<husk_hyp>) {
        t.pointee.random_bytes = { _, buf, len in
            if len == 0 { return HUSK_OK }
            guard let buf else { return HUSK_EFAULT }
            guard len <= HypercallHost.maxAllocation else { return HUSK_EINVAL }
            return husk_getrandom(buf, Int(len)) == 0 ? HUSK_OK : HUSK_EIO
        }
        t.pointee.log = { ctx, level, msg in
            let text = msg.map { String(cString: $0) } ?? "(null)"
            HostLog.write(level: level, component: ComponentContext.name(of: ctx), text)
        }
        t.pointee.panic = { ctx, msg in
            HostPanic.panic(ctx: ctx, msg.map { String(cString: $0) } ?? "(no message)")
        }
        t.pointee.config_get = { ctx, key, buf, buflen, len in
            guard let key else { return HUSK_EFAULT }
            guard let value = ComponentContext.from(ctx)?.parameters[String(cString: key)] else { return HUSK_ENOENT }
            let bytes = Array(value.utf8)
            len?.pointee = UInt64(bytes.count)
            guard let buf, buflen > UInt64(bytes.count) else { return HUSK_ERANGE }
            if !bytes.isEmpty {
                bytes.withUnsafeBytes { UnsafeMutableRawPointer(buf).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            }
            buf[bytes.count] = 0
            return HUSK_OK
        }
    }
}

import Glibc
import HypercallABI

/// Block I/O operations of the table.
extension HypercallHost {
    static func fillBlock(_ t: UnsafeMutablePointer<husk_hyp>) {
        t.pointee.blk_open = { ctx, path, flags, out, info in
            guard let path, let out else { return HUSK_EFAULT }
            switch BlockFile.open(path: String(cString: path), flags: flags, ctx: ctx) {
            case .failure(let e): return e.code
            case .success(let f):
                out.pointee = HypercallHost.host(ctx).blocks.files.insert(f)
                info?.pointee = husk_blk_info(size: f.size, sector_size: f.sectorSize, read_only: f.readOnly ? 1 : 0)
                return HUSK_OK
            }
        }
        t.pointee.blk_read = { ctx, h, buf, len, offset in
            guard let f = HypercallHost.host(ctx).blocks.files.get(h) else { return HUSK_EBADF }
            let c = f.check(write: false, buf: buf, len: len, offset: offset)
            return c != HUSK_OK ? c : f.read(into: buf!, len: len, offset: offset)
        }
        t.pointee.blk_write = { ctx, h, buf, len, offset in
            guard let f = HypercallHost.host(ctx).blocks.files.get(h) else { return HUSK_EBADF }
            let c = f.check(write: true, buf: buf, len: len, offset: offset)
            return c != HUSK_OK ? c : f.write(from: buf!, len: len, offset: offset)
        }
        t.pointee.blk_flush = { ctx, h in
            guard let f = HypercallHost.host(ctx).blocks.files.get(h) else { return HUSK_EBADF }
            return f.flush()
        }
        t.pointee.blk_submit = { ctx, h, req in
            guard let req else { return HUSK_EFAULT }
            let host = HypercallHost.host(ctx)
            guard let f = host.blocks.files.get(h) else { return HUSK_EBADF }
            switch req.pointee.op {
            case UInt32(HUSK_BLK_READ), UInt32(HUSK_BLK_WRITE):
                let c = f.check(
                    write: req.pointee.op == UInt32(HUSK_BLK_WRITE), buf: req.pointee.buf,
                    len: req.pointee.len, offset: req.pointee.offset)
                if c != HUSK_OK { return c }
            case UInt32(HUSK_BLK_FLUSH):
                break
            default:
                return HUSK_EINVAL
            }
            guard req.pointee.done != nil else { return HUSK_EINVAL }
            req.pointee.status = HUSK_OK
            host.blocks.submit(f, req)
            return HUSK_OK
        }
        t.pointee.blk_close = { ctx, h in
            guard let f = HypercallHost.host(ctx).blocks.files.remove(h) else { return HUSK_EBADF }
            f.drain()
            return HUSK_OK
        }
    }
}

/// Symbolic names of the Linux errno values Husk reports: the hypercall
/// ABI's codes (which are Linux's numbers), the RPC's own statuses, and the
/// host errnos the sandbox names. The one table on the Swift side; C code
/// uses husk_error_name (husk/hypercall.h) or, in the C client library,
/// husk_rpc_status_name.
public enum ErrnoName {
    private static let names: [Int32: String] = [
        0: "OK", 1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM",
        13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 22: "EINVAL", 28: "ENOSPC", 30: "EROFS",
        34: "ERANGE", 35: "EDEADLK", 38: "ENOSYS", 71: "EPROTO", 90: "EMSGSIZE", 93: "EPROTONOSUPPORT", 95: "ENOTSUP",
        104: "ECONNRESET", 110: "ETIMEDOUT", 116: "ESTALE",
        // Network errors (husk/hypercall.h, the net interface: docs/net.md).
        32: "EPIPE", 89: "EDESTADDRREQ", 92: "ENOPROTOOPT", 97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL",
        101: "ENETUNREACH", 103: "ECONNABORTED", 105: "ENOBUFS", 106: "EISCONN", 107: "ENOTCONN", 111: "ECONNREFUSED",
        113: "EHOSTUNREACH", 114: "EALREADY", 115: "EINPROGRESS"
    ]

    /// "EINVAL", "OK" for 0; nil for a value not in the table.
    public static func name(of code: Int32) -> String? { names[code] }

    /// The name, or "E<n>" for a value not in the table.
    public static func describe(_ code: Int32) -> String { names[code] ?? "E\(code)" }
}

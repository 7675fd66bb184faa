import HypercallABI
import Platform

/// An error as the hypercall ABI defines it: one of the HUSK_E* codes of
/// husk/hypercall.h. Backends throw these; the table returns `code`.
public struct HypError: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    /// What went wrong, for host logs (never crosses the ABI).
    public let detail: String

    public init(_ code: Int32, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public static func == (a: HypError, b: HypError) -> Bool { a.code == b.code }

    public static let perm = HypError(HUSK_EPERM)
    public static let noent = HypError(HUSK_ENOENT)
    public static let intr = HypError(HUSK_EINTR)
    public static let io = HypError(HUSK_EIO)
    public static let badf = HypError(HUSK_EBADF)
    public static let again = HypError(HUSK_EAGAIN)
    public static let nomem = HypError(HUSK_ENOMEM)
    public static let acces = HypError(HUSK_EACCES)
    public static let fault = HypError(HUSK_EFAULT)
    public static let busy = HypError(HUSK_EBUSY)
    public static let exist = HypError(HUSK_EEXIST)
    public static let nodev = HypError(HUSK_ENODEV)
    public static let inval = HypError(HUSK_EINVAL)
    public static let nospc = HypError(HUSK_ENOSPC)
    public static let rofs = HypError(HUSK_EROFS)
    public static let range = HypError(HUSK_ERANGE)
    public static let deadlk = HypError(HUSK_EDEADLK)
    public static let nosys = HypError(HUSK_ENOSYS)
    public static let notsup = HypError(HUSK_ENOTSUP)
    public static let timedout = HypError(HUSK_ETIMEDOUT)

    public static func nodev(_ detail: String) -> HypError { HypError(HUSK_ENODEV, detail) }
    public static func inval(_ detail: String) -> HypError { HypError(HUSK_EINVAL, detail) }
    public static func io(_ detail: String) -> HypError { HypError(HUSK_EIO, detail) }

    /// Map a host errno to the ABI's code. The ABI's values equal Linux's, so
    /// this only folds codes the ABI does not define into EIO.
    public static func fromErrno(_ e: Int32, _ detail: String = "") -> HypError {
        let known: Set<Int32> = [1, 2, 4, 5, 9, 11, 12, 13, 14, 16, 17, 19, 22, 28, 30, 34, 35, 38, 95, 110]
        return HypError(known.contains(e) ? e : HUSK_EIO, detail)
    }

    public var name: String { HypError.name(of: code) }

    public static func name(of code: Int32) -> String { ErrnoName.describe(code) }

    public var description: String { detail.isEmpty ? name : "\(name): \(detail)" }
}

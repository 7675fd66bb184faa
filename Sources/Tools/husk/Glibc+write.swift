import Glibc

/// write(2) under a name that does not collide with TextOutputStream.write.
@inline(__always)
func Glibc_write(_ fd: Int32, _ p: UnsafeRawPointer?, _ n: Int) -> Int { Glibc.write(fd, p, n) }

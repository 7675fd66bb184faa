#!/usr/bin/env python3
"""A Husk RPC client written from docs/protocol.md alone (Python standard
library only), to show the spec is enough for another language.

    echo_client.py SOCKET

Talks to `husk echo serve` (Interfaces/echo.idl): HELLO, echo.ping,
echo.echo, echo.whoami, an unknown operation (ENOSYS), control.PING, and
echo.checksum over a registered memfd (REGISTER_SHM with SCM_RIGHTS), whose
CRC32C it checks against its own. Prints one line per check; exit 0 only if
all pass.
"""
import fcntl
import os
import socket
import struct
import sys

MAGIC = 0x4B535548
HEADER = struct.Struct("<IHHIIQiIHHI")  # magic version flags iface op id status len fds signal reserved
REPLY, MORE = 0x1, 0x8
ECHO = 1


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.connect(path)
        self.next_id = 1

    def call(self, iface, op, payload=b"", fds=()):
        rid = self.next_id
        self.next_id += 1
        head = HEADER.pack(MAGIC, 1, 0, iface, op, rid, 0, len(payload), len(fds), 0, 0)
        if fds:
            socket.send_fds(self.s, [head + payload], list(fds))
        else:
            self.s.send(head + payload)
        body = b""
        while True:
            msg, anc, flags, _ = self.s.recvmsg(1 << 20, socket.CMSG_SPACE(4 * 8))
            if not msg:
                raise ConnectionError("server closed the connection")
            magic, ver, fl, i, o, got_id, status, plen, nfds, sig, res = HEADER.unpack_from(msg)
            assert magic == MAGIC and ver == 1 and res == 0, "bad header"
            assert len(msg) == HEADER.size + plen, "length mismatch"
            if not fl & REPLY or got_id != rid:
                continue  # an event, or another request's reply
            body += msg[HEADER.size:]
            if not fl & MORE:
                return status, body


def u32(b, off):
    return struct.unpack_from("<I", b, off)[0]


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def main():
    c = Client(sys.argv[1])
    ok = True

    def check(name, cond, detail=""):
        nonlocal ok
        ok = ok and cond
        print(f"{name}: {'ok' if cond else 'FAILED'} {detail}".rstrip())

    # HELLO: protocol 1..1, wants echo version 1.
    status, body = c.call(0, 1, struct.pack("<HHIII", 1, 1, 1, ECHO, 1))
    name_len = u32(body, 4)
    name = body[8:8 + name_len].decode()
    off = 8 + name_len
    count = u32(body, off)
    iface, version = struct.unpack_from("<II", body, off + 4)
    check("hello", status == 0 and count == 1 and iface == ECHO and version >= 1, f"server '{name}' echo v{version}")

    status, body = c.call(ECHO, 1)
    check("echo.ping", status == 0 and body == b"")

    data = "from the spec alone ✓".encode()
    status, body = c.call(ECHO, 2, struct.pack("<I", len(data)) + data)
    check("echo.echo", status == 0 and body == struct.pack("<I", len(data)) + data)

    status, body = c.call(ECHO, 7)
    uid, gid, ngroups = struct.unpack_from("<III", body)
    check("echo.whoami", status == 0 and uid == os.getuid() and gid == os.getgid(), f"uid {uid} gid {gid}")

    status, body = c.call(ECHO, 999)
    check("unknown operation", status == 38 and body == b"", f"status {status}")

    status, body = c.call(0, 2)
    check("control.ping", status == 0)

    # Shared memory: a memfd sealed against shrinking, registered with its descriptor.
    size = 1 << 16
    fd = os.memfd_create("spec-client", os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
    content = bytes((i * 7 + 3) & 0xFF for i in range(size))
    os.pwrite(fd, content, 0)
    status, body = c.call(0, 3, b"", [fd])
    shm_id, pad, shm_size = struct.unpack_from("<IIQ", body)
    check("control.register_shm", status == 0 and shm_size == size, f"id {shm_id}")
    ref = struct.pack("<IIQQ", shm_id, 0, 100, 5000)
    status, body = c.call(ECHO, 5, ref)
    crc, length = struct.unpack_from("<IQ", body)
    check("echo.checksum", status == 0 and length == 5000 and crc == crc32c(content[100:5100]), f"crc32c {crc:#010x}")
    status, body = c.call(ECHO, 5, struct.pack("<IIQQ", shm_id, 0, size - 10, 100))
    check("shm outside the region", status == 14, f"status {status}")
    os.close(fd)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

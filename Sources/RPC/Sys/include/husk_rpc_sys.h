/* husk_rpc_sys.h — what the RPC transport (Sources/RPC/Transport) needs from C
 * and Glibc's Swift overlay hides (GNU extensions): AF_UNIX SOCK_SEQPACKET
 * sockets, sendmsg/recvmsg with SCM_RIGHTS, SO_PEERCRED/SO_PEERGROUPS,
 * accept4, memfd_create and file seals. Every function returns -1 with errno
 * set on failure unless it says otherwise. Every descriptor it creates is
 * close-on-exec. Host-only. */
#ifndef HUSK_RPC_SYS_H
#define HUSK_RPC_SYS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC). */
int husk_rpc_socket(void);
/* socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC); fds[0], fds[1]. */
int husk_rpc_socketpair(int fds[2]);
/* bind / connect to a filesystem path (-1, errno ENAMETOOLONG if it does not
 * fit in sun_path). */
int husk_rpc_bind(int fd, const char *path);
int husk_rpc_unix_connect(int fd, const char *path);
/* accept4(SOCK_CLOEXEC). */
int husk_rpc_accept(int listen_fd);

/* One message with up to nfds descriptors as SCM_RIGHTS. MSG_NOSIGNAL is
 * always added; nonblocking adds MSG_DONTWAIT. Returns bytes sent. */
ssize_t husk_rpc_send(int fd, const void *buf, size_t len, const int *fds, int nfds, int nonblocking);

/* What husk_rpc_recv found besides the bytes. */
struct husk_rpc_recv_info {
    int32_t nfds;         /* descriptors stored in fds[] (received close-on-exec) */
    int32_t extra_fds;    /* descriptors beyond max_fds: already closed */
    int32_t truncated;    /* MSG_TRUNC: the message was longer than len */
    int32_t ctruncated;   /* MSG_CTRUNC: control data did not fit */
    int32_t foreign_cmsg; /* ancillary data other than SCM_RIGHTS (ignored) */
};
/* Receive one message (blocking). Returns the message's real length (which
 * may exceed len when info->truncated), 0 at end of stream, or -1. The
 * control buffer holds max_fds + a margin so that excess descriptors are
 * received and closed rather than silently dropped. */
ssize_t husk_rpc_recv(int fd, void *buf, size_t len, int *fds, int max_fds, struct husk_rpc_recv_info *info);

/* SO_PEERCRED. */
int husk_rpc_peercred(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid);
/* SO_PEERGROUPS into groups[max]; returns the number of groups (which may
 * exceed max: call again with a larger array), or -1. */
int husk_rpc_peergroups(int fd, uint32_t *groups, int max);

/* memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING). */
int husk_rpc_memfd(const char *name);
/* fcntl(F_ADD_SEALS) / fcntl(F_GET_SEALS) (returns the seal bits). */
int husk_rpc_add_seals(int fd, int seals);
int husk_rpc_get_seals(int fd);
/* The F_SEAL_* bits (macros hidden from Swift). */
int husk_rpc_seal_shrink(void);
int husk_rpc_seal_grow(void);
int husk_rpc_seal_write(void);
int husk_rpc_seal_seal(void);

/* The number of open descriptors of the calling process (counts /proc/self/fd). */
int husk_rpc_count_fds(void);

#endif

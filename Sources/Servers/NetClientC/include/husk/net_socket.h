/*
 * husk/net_socket.h — BSD sockets of a Husk net server (`husk net serve`,
 * docs/net.md) for C programs: the socket calls of <sys/socket.h> with a
 * husk_ prefix and the same arguments, results and errno values, over the
 * generated stubs of Interfaces/net.idl (husk_rpc_net.h). C11; link with
 * the RPC client runtime (Sources/RPC/ClientC) and -lpthread.
 *
 *   husk_net_init("/run/husk/net.sock", err, sizeof err);
 *   int s = husk_socket(AF_INET, SOCK_STREAM, 0);
 *   struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
 *   inet_pton(AF_INET, "10.77.0.1", &a.sin_addr);
 *   if (husk_connect(s, (struct sockaddr *)&a, sizeof a) < 0) perror("connect");   // ECONNREFUSED, ...
 *   husk_send(s, "GET / HTTP/1.0\r\n\r\n", 18, 0);
 *   char buf[4096]; ssize_t n = husk_recv(s, buf, sizeof buf, 0);
 *   husk_close(s);
 *
 * Why husk_socket and not husk_net_socket: husk_net_* are the generated
 * stubs of interface net (one function per operation, on one RPC
 * connection); this library is the layer above them with BSD's shape.
 *
 * Handles: husk_socket and husk_accept return small non-negative integers
 * that name sockets of this library, not kernel descriptors (they cannot
 * be given to read, write or the kernel's poll). Each socket is its own
 * RPC connection to the server (an opened object), so calls on different
 * sockets run in parallel from different threads; calls on one socket are
 * made one at a time (a blocking recv holds up a send on the same socket
 * from another thread: use husk_poll or non-blocking mode for both
 * directions at once from two threads).
 *
 * Errors: -1 with errno set, to the server's status (POSIX's names:
 * ECONNREFUSED, ECONNRESET, ETIMEDOUT, EADDRINUSE, EAGAIN, EPIPE, EINTR,
 * ...), to ECONNRESET when the server is gone, to EBADF for a handle that
 * is not an open socket and to ENOTCONN before husk_net_init (and without
 * HUSK_NET_SOCKET in the environment).
 *
 * Signals: a send on a connection that was reset or shut down fails with
 * EPIPE and raises SIGPIPE in the calling thread unless the flags include
 * MSG_NOSIGNAL, as Unix does (the server asks for the signal in its reply).
 * A blocking call interrupted by a signal whose handler was installed
 * without SA_RESTART is cancelled on the server and fails with EINTR.
 *
 * Supported: AF_INET and AF_INET6; SOCK_STREAM and SOCK_DGRAM (with
 * SOCK_NONBLOCK; SOCK_CLOEXEC is accepted and means nothing here); flags
 * MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_NOSIGNAL; options SO_REUSEADDR,
 * SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, SO_ERROR, SO_RCVTIMEO, SO_SNDTIMEO
 * (a blocking connect gives up after SO_SNDTIMEO with ETIMEDOUT) and
 * TCP_NODELAY; husk_fcntl F_GETFL/F_SETFL with O_NONBLOCK; husk_poll with
 * POLLIN and POLLOUT. Sends and receives above 64 KiB go through shared
 * memory registered once per socket.
 */
#ifndef HUSK_NET_SOCKET_H
#define HUSK_NET_SOCKET_H

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Connect this process to the net server at socket_path (HELLO requires
 * interface net version 1). 0, or -1 with errno and a message in err.
 * Calling it again replaces the connection for sockets made afterwards. */
int husk_net_init(const char *socket_path, char *err, size_t err_len);
/* Close the connection to the server (open sockets keep working until closed). */
void husk_net_exit(void);

int husk_socket(int domain, int type, int protocol);
int husk_bind(int s, const struct sockaddr *addr, socklen_t len);
int husk_listen(int s, int backlog);
int husk_accept(int s, struct sockaddr *addr, socklen_t *len);
int husk_connect(int s, const struct sockaddr *addr, socklen_t len);
ssize_t husk_send(int s, const void *buf, size_t len, int flags);
ssize_t husk_recv(int s, void *buf, size_t len, int flags);
ssize_t husk_sendto(int s, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen);
ssize_t husk_recvfrom(int s, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen);
int husk_shutdown(int s, int how);
int husk_close(int s);
int husk_getsockname(int s, struct sockaddr *addr, socklen_t *len);
int husk_getpeername(int s, struct sockaddr *addr, socklen_t *len);
int husk_setsockopt(int s, int level, int name, const void *value, socklen_t len);
int husk_getsockopt(int s, int level, int name, void *value, socklen_t *len);
/* F_GETFL and F_SETFL (O_NONBLOCK) only. */
int husk_fcntl(int s, int cmd, int arg);
/* fds[i].fd are handles of this library; POLLIN and POLLOUT (POLLERR,
 * POLLHUP, POLLNVAL are reported). timeout in ms, -1: no limit. */
int husk_poll(struct pollfd *fds, nfds_t n, int timeout);

#ifdef __cplusplus
}
#endif

#endif

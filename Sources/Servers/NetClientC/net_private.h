/* net_private.h — what the files of the BSD-socket library share
 * (husk/net_socket.h): the table of sockets and the server connection. */
#ifndef HUSK_NET_PRIVATE_H
#define HUSK_NET_PRIVATE_H

#include <husk/net_socket.h>
#include <husk/rpc_client.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "husk_rpc_net.h"

/* Inline sends and receives up to this many bytes; beyond, shared memory. */
#define HUSK_NET_INLINE_MAX (64u * 1024u)
/* The shared-memory window of a socket (registered on first bulk use). */
#define HUSK_NET_WINDOW     (1u << 20)

struct husk_sock {
    struct husk_rpc_conn *conn; /* the socket's own connection (an opened object) */
    uint64_t id;                /* the server's id, for poll */
    int domain, type;           /* AF_*, SOCK_STREAM/SOCK_DGRAM */
    int refs;                   /* users now + 1 while in the table (under the table's lock) */
    uint32_t sndtimeo_ms;       /* SO_SNDTIMEO, for a blocking connect */
    pthread_mutex_t window_lock;
    bool has_window;
    struct husk_rpc_shm window;
};

/* The socket behind handle s with a reference taken, or NULL (errno EBADF). */
struct husk_sock *husk_net_get(int s);
/* Drop a reference taken by husk_net_get. */
void husk_net_put(struct husk_sock *k);
/* The server connection (for socket and poll), or NULL with errno set. */
struct husk_rpc_conn *husk_net_server(void);
/* Another connection to the server (poll waits on one per thread): 0 or a status. */
int husk_net_dial(struct husk_rpc_conn **out);
/* Wrap a new socket's descriptor (from socket or accept): its handle, or -1. */
int husk_net_adopt(int fd, uint64_t id, int domain, int type);
/* errno = status; -1. */
int husk_net_fail(int status);
/* The registered window of k (created on first use), locked; NULL: errno set. */
struct husk_rpc_shm *husk_net_window(struct husk_sock *k);
void husk_net_window_done(struct husk_sock *k);

/* Addresses: BSD's to the interface's (family, 4 or 16 bytes, port) and back. */
int husk_net_addr_in(const struct sockaddr *sa, socklen_t len, uint16_t *family, uint8_t addr[16], uint32_t *addr_len,
                     uint16_t *port);
void husk_net_addr_out(uint16_t family, const uint8_t *addr, uint32_t addr_len, uint16_t port, struct sockaddr *sa,
                       socklen_t *len);

#endif

#define _GNU_SOURCE
#include "husk_rpc_sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int husk_rpc_socket(void) { return socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0); }

int husk_rpc_socketpair(int fds[2]) { return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds); }

static int make_addr(const char *path, struct sockaddr_un *sa, socklen_t *len) {
    size_t n = strlen(path);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (n == 0 || n >= sizeof sa->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa->sun_path, path, n);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

int husk_rpc_bind(int fd, const char *path) {
    struct sockaddr_un sa;
    socklen_t len;
    if (make_addr(path, &sa, &len) != 0) return -1;
    return bind(fd, (struct sockaddr *)&sa, len);
}

int husk_rpc_unix_connect(int fd, const char *path) {
    struct sockaddr_un sa;
    socklen_t len;
    if (make_addr(path, &sa, &len) != 0) return -1;
    int r;
    do {
        r = connect(fd, (struct sockaddr *)&sa, len);
    } while (r != 0 && errno == EINTR);
    return r;
}

int husk_rpc_accept(int listen_fd) { return accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC); }

/* Room for this many descriptors in a control buffer on the stack. */
#define HUSK_RPC_CMSG_FDS 64

ssize_t husk_rpc_send(int fd, const void *buf, size_t len, const int *fds, int nfds, int nonblocking) {
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * HUSK_RPC_CMSG_FDS)];
    } ctl;
    if (nfds > 0) {
        if (nfds > HUSK_RPC_CMSG_FDS) {
            errno = EINVAL;
            return -1;
        }
        memset(&ctl, 0, sizeof ctl);
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    int flags = MSG_NOSIGNAL | (nonblocking ? MSG_DONTWAIT : 0);
    ssize_t r;
    do {
        r = sendmsg(fd, &msg, flags);
    } while (r < 0 && errno == EINTR);
    return r;
}

ssize_t husk_rpc_recv(int fd, void *buf, size_t len, int *fds, int max_fds, struct husk_rpc_recv_info *info) {
    memset(info, 0, sizeof *info);
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    /* A margin beyond max_fds: a sender attaching a few too many gets them
     * received (and closed here) instead of dropped with MSG_CTRUNC. */
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * HUSK_RPC_CMSG_FDS)];
    } ctl;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    ssize_t r;
    /* MSG_TRUNC: return the real length of a longer message. */
    do {
        r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_TRUNC);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    if (msg.msg_flags & MSG_TRUNC) info->truncated = 1;
    if (msg.msg_flags & MSG_CTRUNC) info->ctruncated = 1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            const unsigned char *data = CMSG_DATA(c);
            for (size_t i = 0; i < n; i++) {
                int d;
                memcpy(&d, data + i * sizeof(int), sizeof d);
                if (info->nfds < max_fds)
                    fds[info->nfds++] = d;
                else {
                    close(d);
                    info->extra_fds++;
                }
            }
        } else {
            info->foreign_cmsg = 1;
        }
    }
    return r;
}

int husk_rpc_peercred(int fd, uint32_t *uid, uint32_t *gid, int32_t *pid) {
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) return -1;
    *uid = cr.uid;
    *gid = cr.gid;
    *pid = cr.pid;
    return 0;
}

int husk_rpc_peergroups(int fd, uint32_t *groups, int max) {
    socklen_t len = (socklen_t)(sizeof(gid_t) * (size_t)(max > 0 ? max : 0));
    gid_t *g = (gid_t *)groups;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) != 0) {
        if (errno == ERANGE) return (int)(len / sizeof(gid_t));
        return -1;
    }
    return (int)(len / sizeof(gid_t));
}

int husk_rpc_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING); }
int husk_rpc_add_seals(int fd, int seals) { return fcntl(fd, F_ADD_SEALS, seals); }
int husk_rpc_get_seals(int fd) { return fcntl(fd, F_GET_SEALS); }
int husk_rpc_seal_shrink(void) { return F_SEAL_SHRINK; }
int husk_rpc_seal_grow(void) { return F_SEAL_GROW; }
int husk_rpc_seal_write(void) { return F_SEAL_WRITE; }
int husk_rpc_seal_seal(void) { return F_SEAL_SEAL; }

int husk_rpc_count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

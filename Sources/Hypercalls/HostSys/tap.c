#define _GNU_SOURCE
#include "husk_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int fill_ifreq(struct ifreq *ifr, const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n >= IFNAMSIZ) {
        errno = EINVAL;
        return -1;
    }
    memset(ifr, 0, sizeof *ifr);
    memcpy(ifr->ifr_name, name, n);
    return 0;
}

/* Whether an interface called name exists (SIOCGIFINDEX on any socket). */
static int interface_exists(const char *name) {
    struct ifreq ifr;
    if (fill_ifreq(&ifr, name) != 0) return -1;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    int r = ioctl(s, SIOCGIFINDEX, &ifr);
    int e = errno;
    close(s);
    if (r == 0) return 1;
    if (e == ENODEV) return 0;
    errno = e;
    return -1;
}

int husk_tap_open(const char *name, int create, int *created) {
    struct ifreq ifr;
    if (fill_ifreq(&ifr, name) != 0) return -1;
    int exists = interface_exists(name);
    if (exists < 0) return -1;
    if (!exists && !create) {
        errno = ENOENT;
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        int e = errno;
        close(fd);
        errno = e == EPERM ? EACCES : e;
        return -1;
    }
    if (created) *created = !exists;
    return fd;
}

int husk_tap_mtu(const char *name) {
    struct ifreq ifr;
    if (fill_ifreq(&ifr, name) != 0) return -1;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    int r = ioctl(s, SIOCGIFMTU, &ifr);
    int e = errno;
    close(s);
    if (r != 0) {
        errno = e;
        return -1;
    }
    return ifr.ifr_mtu;
}

/*
 * net_client_check.c — drives the BSD-socket C library (husk/net_socket.h)
 * against a net server whose stack has 10.77.0.2 and fd77::2, with the
 * kernel of the same network namespace at 10.77.0.1 and fd77::1 as the
 * peer, through ordinary kernel sockets made here. Prints "OK <check>" per
 * check and "ALL OK" at the end; exits 1 at the first failure.
 *   net_client_check SOCKET
 */
#define _GNU_SOURCE
#include <husk/net_socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (!(cond)) {                                                   \
            fprintf(stdout, "FAIL %s:%d: ", __FILE__, __LINE__);         \
            fprintf(stdout, __VA_ARGS__);                                \
            fprintf(stdout, " (errno %d %s)\n", errno, strerror(errno)); \
            exit(1);                                                     \
        }                                                                \
    } while (0)

static struct sockaddr_in v4(const char *ip, int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct sockaddr_in6 v6(const char *ip, int port) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

/* A kernel listening socket at ip:port. */
static int kernel_listener(const char *ip, int port) {
    int k = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(k, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = v4(ip, port);
    CHECK(bind(k, (struct sockaddr *)&a, sizeof a) == 0, "kernel bind %s:%d", ip, port);
    CHECK(listen(k, 4) == 0, "kernel listen");
    return k;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 31u + (i >> 11)); }

/* The kernel's end of the stream check: read `size` bytes, check them, send them back. */
struct echo {
    int fd;
    size_t size;
    int ok;
};

static void *kernel_echo(void *arg) {
    struct echo *e = arg;
    unsigned char *buf = malloc(e->size);
    size_t got = 0;
    while (got < e->size) {
        ssize_t n = read(e->fd, buf + got, e->size - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    e->ok = got == e->size;
    for (size_t i = 0; e->ok && i < got; i++)
        if (buf[i] != pattern(i)) e->ok = 0;
    size_t sent = 0;
    while (sent < got) {
        ssize_t n = write(e->fd, buf + sent, got - sent);
        if (n <= 0) break;
        sent += (size_t)n;
    }
    free(buf);
    return NULL;
}

static void check_stream(void) {
    int k = kernel_listener("10.77.0.1", 7200);
    int s = husk_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(s >= 0, "husk_socket");
    struct sockaddr_in a = v4("10.77.0.1", 7200);
    CHECK(husk_connect(s, (struct sockaddr *)&a, sizeof a) == 0, "husk_connect");
    struct echo e = {.fd = accept(k, NULL, NULL), .size = 3u << 20};
    CHECK(e.fd >= 0, "kernel accept");
    pthread_t t;
    pthread_create(&t, NULL, kernel_echo, &e);
    unsigned char *out = malloc(e.size), *in = malloc(e.size);
    for (size_t i = 0; i < e.size; i++) out[i] = pattern(i);
    CHECK(husk_send(s, out, e.size, 0) == (ssize_t)e.size, "husk_send 3 MiB");
    CHECK(husk_recv(s, in, e.size, MSG_WAITALL) == (ssize_t)e.size, "husk_recv 3 MiB with MSG_WAITALL");
    pthread_join(t, NULL);
    CHECK(e.ok, "the kernel received other bytes");
    CHECK(memcmp(in, out, e.size) == 0, "the echo differs");
    CHECK(husk_shutdown(s, SHUT_WR) == 0, "husk_shutdown");
    char c;
    CHECK(read(e.fd, &c, 1) == 0, "the kernel sees the end of the stream");
    close(e.fd);
    CHECK(husk_recv(s, &c, 1, 0) == 0, "husk_recv sees the end of the stream");
    CHECK(husk_close(s) == 0, "husk_close");
    CHECK(husk_close(s) == -1 && errno == EBADF, "a second close is EBADF");
    close(k);
    free(out);
    free(in);
    printf("OK stream\n");
}

static void check_accept(void) {
    int l = husk_socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1;
    CHECK(husk_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0, "SO_REUSEADDR");
    struct sockaddr_in6 any = v6("::", 7201);
    CHECK(husk_bind(l, (struct sockaddr *)&any, sizeof any) == 0, "husk_bind [::]:7201");
    CHECK(husk_listen(l, 4) == 0, "husk_listen");
    int k = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 to = v6("fd77::2", 7201);
    CHECK(connect(k, (struct sockaddr *)&to, sizeof to) == 0, "kernel connect to fd77::2");
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int s = husk_accept(l, (struct sockaddr *)&peer, &plen);
    CHECK(s >= 0, "husk_accept");
    char ip[64];
    CHECK(plen == sizeof(struct sockaddr_in6) && peer.ss_family == AF_INET6, "peer family");
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, ip, sizeof ip);
    CHECK(strcmp(ip, "fd77::1") == 0, "peer %s", ip);
    struct sockaddr_in6 me;
    socklen_t mlen = sizeof me;
    CHECK(husk_getsockname(s, (struct sockaddr *)&me, &mlen) == 0 && ntohs(me.sin6_port) == 7201, "getsockname");
    CHECK(write(k, "ping", 4) == 4, "kernel write");
    char buf[8] = {0};
    CHECK(husk_recv(s, buf, sizeof buf, 0) == 4 && memcmp(buf, "ping", 4) == 0, "husk_recv ping");
    CHECK(husk_send(s, "pong", 4, 0) == 4, "husk_send pong");
    CHECK(read(k, buf, sizeof buf) == 4 && memcmp(buf, "pong", 4) == 0, "kernel read pong");
    close(k);
    husk_close(s);
    husk_close(l);
    printf("OK accept\n");
}

static void check_udp(void) {
    int k = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ka = v4("10.77.0.1", 7202);
    CHECK(bind(k, (struct sockaddr *)&ka, sizeof ka) == 0, "kernel udp bind");
    int s = husk_socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(husk_sendto(s, "datagram", 8, 0, (struct sockaddr *)&ka, sizeof ka) == 8, "husk_sendto");
    char buf[64];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t n = recvfrom(k, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
    CHECK(n == 8 && memcmp(buf, "datagram", 8) == 0, "kernel recvfrom");
    CHECK(sendto(k, "reply", 5, 0, (struct sockaddr *)&from, flen) == 5, "kernel sendto");
    struct sockaddr_in back;
    socklen_t blen = sizeof back;
    n = husk_recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&back, &blen);
    CHECK(n == 5 && memcmp(buf, "reply", 5) == 0, "husk_recvfrom");
    CHECK(back.sin_family == AF_INET && ntohs(back.sin_port) == 7202, "the sender's address");
    husk_close(s);
    close(k);
    printf("OK udp\n");
}

static void check_refused(void) {
    int s = husk_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("10.77.0.1", 7203);
    CHECK(husk_connect(s, (struct sockaddr *)&a, sizeof a) == -1 && errno == ECONNREFUSED, "connect to a closed port");
    husk_close(s);
    printf("OK refused ECONNREFUSED\n");
}

static volatile sig_atomic_t sigpipes, alarms;
static void on_sigpipe(int sig) { sigpipes++; }
static void on_alarm(int sig) { alarms++; }

static void check_epipe(void) {
    struct sigaction sa = {.sa_handler = on_sigpipe};
    sigaction(SIGPIPE, &sa, NULL);
    int k = kernel_listener("10.77.0.1", 7204);
    int s = husk_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("10.77.0.1", 7204);
    CHECK(husk_connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    int c = accept(k, NULL, NULL);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c); /* a reset */
    usleep(300000);
    CHECK(husk_send(s, "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE, "send after a reset with MSG_NOSIGNAL");
    CHECK(sigpipes == 0, "no SIGPIPE with MSG_NOSIGNAL");
    CHECK(husk_send(s, "x", 1, 0) == -1 && errno == EPIPE, "send after a reset");
    CHECK(sigpipes == 1, "SIGPIPE raised once (%d)", (int)sigpipes);
    husk_close(s);
    close(k);
    printf("OK epipe EPIPE SIGPIPE\n");
}

static void check_eintr(void) {
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    int l = husk_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("0.0.0.0", 7205);
    CHECK(husk_bind(l, (struct sockaddr *)&a, sizeof a) == 0 && husk_listen(l, 1) == 0, "listen 7205");
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
    double t0 = now();
    int r = husk_accept(l, NULL, NULL);
    double took = now() - t0;
    CHECK(r == -1 && errno == EINTR, "accept interrupted by SIGALRM");
    CHECK(alarms == 1 && took < 2.0, "interrupted after %.3f s", took);
    husk_close(l);
    printf("OK eintr EINTR %.3f\n", took);
}

static void check_nonblocking_and_poll(void) {
    int l = husk_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = v4("10.77.0.2", 7206);
    CHECK(husk_bind(l, (struct sockaddr *)&a, sizeof a) == 0 && husk_listen(l, 1) == 0, "listen 7206");
    CHECK((husk_fcntl(l, F_GETFL, 0) & O_NONBLOCK) != 0, "O_NONBLOCK");
    CHECK(husk_accept(l, NULL, NULL) == -1 && errno == EAGAIN, "accept without a connection");
    struct pollfd p = {.fd = l, .events = POLLIN};
    CHECK(husk_poll(&p, 1, 100) == 0 && p.revents == 0, "poll times out");
    int k = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(k, (struct sockaddr *)&a, sizeof a) == 0, "kernel connect");
    CHECK(husk_poll(&p, 1, 5000) == 1 && (p.revents & POLLIN) != 0, "poll: readable");
    int s = husk_accept(l, NULL, NULL);
    CHECK(s >= 0, "accept after poll");
    struct pollfd two[2] = {{.fd = s, .events = POLLIN | POLLOUT}, {.fd = 999, .events = POLLIN}};
    CHECK(husk_poll(two, 2, 1000) == 2 && (two[0].revents & POLLOUT) && (two[1].revents & POLLNVAL), "poll two");
    char c;
    CHECK(husk_recv(s, &c, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN, "recv MSG_DONTWAIT");
    close(k);
    husk_close(s);
    husk_close(l);
    printf("OK nonblock EAGAIN poll\n");
}

static void check_options(void) {
    int k = kernel_listener("10.77.0.1", 7207);
    int s = husk_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("10.77.0.1", 7207);
    CHECK(husk_connect(s, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    int c = accept(k, NULL, NULL);
    int one = 1, v = 0;
    socklen_t len = sizeof v;
    CHECK(husk_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0, "TCP_NODELAY");
    CHECK(husk_getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0 && v == 1, "TCP_NODELAY reads back");
    CHECK(husk_setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) == 0, "SO_KEEPALIVE");
    len = sizeof v;
    CHECK(husk_getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &len) == 0 && v > 0, "SO_SNDBUF");
    len = sizeof v;
    CHECK(husk_getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &len) == 0 && v == 0, "SO_ERROR");
    CHECK(husk_setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) == -1 && errno == ENOPROTOOPT,
          "unknown option");
    struct timeval tv = {.tv_usec = 200000};
    CHECK(husk_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "SO_RCVTIMEO");
    double t0 = now();
    char ch;
    CHECK(husk_recv(s, &ch, 1, 0) == -1 && errno == EAGAIN, "recv times out");
    CHECK(now() - t0 >= 0.19, "after the receive timeout");
    close(c);
    husk_close(s);
    close(k);
    int t = husk_socket(AF_INET, SOCK_STREAM, 0);
    struct timeval st = {.tv_usec = 500000};
    CHECK(husk_setsockopt(t, SOL_SOCKET, SO_SNDTIMEO, &st, sizeof st) == 0, "SO_SNDTIMEO");
    struct sockaddr_in nobody = v4("10.77.0.99", 80);
    CHECK(husk_connect(t, (struct sockaddr *)&nobody, sizeof nobody) == -1 && errno == ETIMEDOUT, "connect times out");
    husk_close(t);
    printf("OK options ETIMEDOUT\n");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char err[256];
    CHECK(husk_socket(AF_INET, SOCK_STREAM, 0) == -1 && errno == ENOTCONN, "a socket before husk_net_init");
    CHECK(husk_net_init(argv[1], err, sizeof err) == 0, "husk_net_init: %s", err);
    check_stream();
    check_accept();
    check_udp();
    check_refused();
    check_epipe();
    check_eintr();
    check_nonblocking_and_poll();
    check_options();
    husk_net_exit();
    printf("ALL OK\n");
    return 0;
}

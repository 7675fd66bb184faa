#define _GNU_SOURCE
#include "rpc_bench.h"

#include <husk/rpc_client.h>
#include "husk_rpc_echo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RAW_MAX 65536u

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int rpcbench_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return CPU_COUNT(&set);
}

int rpcbench_pin_self(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu < 0) {
        long n = sysconf(_SC_NPROCESSORS_CONF);
        for (long i = 0; i < n && i < CPU_SETSIZE; i++) CPU_SET((int)i, &set);
    } else {
        CPU_SET(cpu, &set);
    }
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : errno;
}

/* The child: echo messages back until EOF. Only async-signal-safe calls. */
static void raw_child(int fd) {
    static uint8_t buf[RAW_MAX];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(0);
        if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) _exit(1);
    }
}

pid_t rpcbench_raw_start(int *client_fd) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -errno;
    int bufsize = 4 * (int)RAW_MAX;
    for (int i = 0; i < 2; i++) {
        setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
        setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return -e;
    }
    if (pid == 0) {
        close(sv[0]);
        raw_child(sv[1]);
    }
    close(sv[1]);
    *client_fd = sv[0];
    return pid;
}

int rpcbench_raw_run(int fd, uint32_t size, uint64_t n, uint64_t *lat_ns) {
    static _Thread_local uint8_t out[RAW_MAX], in[RAW_MAX];
    if (size == 0 || size > RAW_MAX) return EINVAL;
    memset(out, 0x5a, size);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        if (send(fd, out, size, MSG_NOSIGNAL) != (ssize_t)size) return errno ? errno : EIO;
        ssize_t r;
        do r = recv(fd, in, sizeof in, 0);
        while (r < 0 && errno == EINTR);
        if (r != (ssize_t)size) return r < 0 ? errno : EPROTO;
        lat_ns[i] = now_ns() - t0;
    }
    return 0;
}

void rpcbench_raw_stop(pid_t pid, int fd) {
    close(fd);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
}

int rpcbench_connect(const char *path, int timeout_ms, struct husk_rpc_conn **out) {
    struct husk_rpc_requirement req[] = {HUSK_ECHO_REQUIREMENT};
    uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        int r = husk_rpc_connect(path, req, 1, out, NULL, 0);
        if (r == 0) return 0;
        if ((r != ENOENT && r != ECONNREFUSED) || now_ns() >= end) return r;
        usleep(5000);
    }
}

int rpcbench_connect_ring(const char *path, int timeout_ms, struct husk_rpc_conn **out) {
    int r = rpcbench_connect(path, timeout_ms, out);
    if (r != 0) return r;
    r = husk_rpc_use_ring(*out);
    if (r != 0) {
        husk_rpc_close(*out);
        *out = NULL;
    }
    return r;
}

uint64_t rpcbench_process_cpu_ns(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL) return 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char file[128];
        snprintf(file, sizeof file, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(file, "r");
        if (f == NULL) continue;
        unsigned long long ns = 0;
        if (fscanf(f, "%llu", &ns) == 1) total += ns;
        fclose(f);
    }
    closedir(d);
    return total;
}

void rpcbench_close(struct husk_rpc_conn *c) { husk_rpc_close(c); }

const char *rpcbench_status_name(int status) { return husk_rpc_status_name(status); }

struct husk_rpc_shm *rpcbench_shm_create(struct husk_rpc_conn *c, uint64_t size, int *status) {
    struct husk_rpc_shm *shm = calloc(1, sizeof *shm);
    if (!shm) {
        *status = ENOMEM;
        return NULL;
    }
    *status = husk_rpc_shm_register(c, size, shm);
    if (*status != 0) {
        free(shm);
        return NULL;
    }
    return shm;
}

void rpcbench_shm_release(struct husk_rpc_conn *c, struct husk_rpc_shm *shm) {
    if (!shm) return;
    husk_rpc_shm_unregister(c, shm);
    free(shm);
}

int rpcbench_c_ping(struct husk_rpc_conn *c, uint64_t n, uint64_t *lat_ns) {
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        int r = husk_echo_ping(c);
        if (r != 0) return r;
        lat_ns[i] = now_ns() - t0;
    }
    return 0;
}

int rpcbench_c_echo(struct husk_rpc_conn *c, uint32_t size, uint64_t n, uint64_t *lat_ns) {
    uint8_t *out = malloc(size ? size : 1), *in = malloc(size ? size : 1);
    if (!out || !in) {
        free(out);
        free(in);
        return ENOMEM;
    }
    for (uint32_t i = 0; i < size; i++) out[i] = (uint8_t)(i * 31u + 7u);
    int r = 0;
    for (uint64_t i = 0; i < n && r == 0; i++) {
        uint32_t got = 0;
        uint64_t t0 = now_ns();
        r = husk_echo_echo(c, out, size, in, size, &got);
        lat_ns[i] = now_ns() - t0;
        if (r == 0 && (got != size || (size && (in[0] != out[0] || in[size - 1] != out[size - 1])))) r = EPROTO;
    }
    free(out);
    free(in);
    return r;
}

int rpcbench_c_shm_checksum(struct husk_rpc_conn *c, struct husk_rpc_shm *shm, uint32_t size, uint64_t n,
                            uint64_t *lat_ns) {
    if (shm->size < size) return EINVAL;
    uint8_t *src = malloc(size ? size : 1);
    if (!src) return ENOMEM;
    for (uint32_t i = 0; i < size; i++) src[i] = (uint8_t)(i * 31u + 7u);
    int r = 0;
    for (uint64_t i = 0; i < n && r == 0; i++) {
        uint64_t len = 0;
        uint64_t t0 = now_ns();
        memcpy(shm->base, src, size);
        r = husk_echo_checksum(c, husk_rpc_shm_ref(shm, 0, size), NULL, &len);
        lat_ns[i] = now_ns() - t0;
        if (r == 0 && len != size) r = EPROTO;
    }
    free(src);
    return r;
}

struct conc_arg {
    const char *path;
    uint64_t calls;
    uint64_t *lat;
    uint64_t errors;
};

static void *conc_thread(void *p) {
    struct conc_arg *a = p;
    struct husk_rpc_conn *c = NULL;
    for (uint64_t i = 0; i < a->calls; i++) a->lat[i] = 0;
    if (rpcbench_connect(a->path, 5000, &c) != 0) {
        a->errors = a->calls;
        return NULL;
    }
    for (uint64_t i = 0; i < a->calls; i++) {
        uint64_t t0 = now_ns();
        if (husk_echo_ping(c) != 0) a->errors++;
        a->lat[i] = now_ns() - t0;
    }
    husk_rpc_close(c);
    return NULL;
}

int rpcbench_c_concurrent(const char *path, unsigned clients, uint64_t calls, uint64_t *lat_ns, uint64_t *errors) {
    struct conc_arg *args = calloc(clients ? clients : 1, sizeof *args);
    pthread_t *tids = calloc(clients ? clients : 1, sizeof *tids);
    if (!args || !tids) {
        free(args);
        free(tids);
        return ENOMEM;
    }
    int err = 0;
    unsigned made = 0;
    for (; made < clients; made++) {
        args[made] = (struct conc_arg){path, calls, lat_ns + (uint64_t)made * calls, 0};
        int r = pthread_create(&tids[made], NULL, conc_thread, &args[made]);
        if (r != 0) {
            err = r;
            break;
        }
    }
    for (unsigned i = made; i < clients; i++) { /* clients never started count as failed */
        args[i].errors = calls;
        for (uint64_t k = 0; k < calls; k++) lat_ns[(uint64_t)i * calls + k] = 0;
    }
    for (unsigned i = 0; i < made; i++) pthread_join(tids[i], NULL);
    uint64_t total = 0;
    for (unsigned i = 0; i < clients; i++) total += args[i].errors;
    free(args);
    free(tids);
    *errors = total;
    return err;
}

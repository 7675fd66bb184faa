/*
 * rpc_bench.h — the C half of `husk bench rpc` (Sources/Tools/husk/BenchRPC.swift).
 *
 * A raw AF_UNIX SOCK_SEQPACKET ping-pong between two processes (the
 * transport's limit), and loops over the generated echo client
 * (husk_rpc_echo.h). Every loop stores one latency per call, in
 * nanoseconds (CLOCK_MONOTONIC), into `lat_ns`; Swift computes percentiles.
 * Functions returning int return 0 or an errno-style status.
 */
#ifndef HUSK_RPC_BENCH_H
#define HUSK_RPC_BENCH_H

#include <stdint.h>
#include <sys/types.h>

/* From husk/rpc_client.h; opaque here so that Swift needs only this header. */
struct husk_rpc_conn;
struct husk_rpc_shm;

#ifdef __cplusplus
extern "C" {
#endif

/** Number of CPUs the process may run on (sched_getaffinity). */
int rpcbench_cpu_count(void);
/** Pin the calling thread to `cpu`, or let it run on every CPU when cpu < 0.
 *  Threads and processes it creates afterwards inherit the mask. */
int rpcbench_pin_self(int cpu);

/** Raw ping-pong: a SEQPACKET socketpair and a forked child that echoes
 *  every message back until EOF (the child uses only recv/send/_exit, so
 *  forking from a threaded process is safe). The child inherits the
 *  caller's CPU mask. Returns the child's pid (or -errno); *client_fd is
 *  the parent's end. */
pid_t rpcbench_raw_start(int *client_fd);
/** `n` round trips of `size`-byte messages (size <= 65536). */
int rpcbench_raw_run(int fd, uint32_t size, uint64_t n, uint64_t *lat_ns);
/** Close the parent's end (the child then exits) and reap the child. */
void rpcbench_raw_stop(pid_t pid, int fd);

/** Connect to an echo server, retrying for up to `timeout_ms` while the
 *  socket does not exist yet or refuses. */
int rpcbench_connect(const char *path, int timeout_ms, struct husk_rpc_conn **out);

/** The same, then move the connection onto the shared-memory call rings
 *  (husk_rpc_use_ring; ENOTSUP if the server does not offer them). */
int rpcbench_connect_ring(const char *path, int timeout_ms, struct husk_rpc_conn **out);

/** CPU time, in ns, every thread of process `pid` has run so far (the sum
 *  of the first field of /proc/PID/task/TID/schedstat); 0 if unreadable. */
uint64_t rpcbench_process_cpu_ns(pid_t pid);

/** Close a connection (husk_rpc_close). */
void rpcbench_close(struct husk_rpc_conn *c);
/** husk_rpc_status_name(). */
const char *rpcbench_status_name(int status);
/** Register `size` bytes of shared memory (husk_rpc_shm_register); NULL on
 *  failure with *status set. Release with rpcbench_shm_release(). */
struct husk_rpc_shm *rpcbench_shm_create(struct husk_rpc_conn *c, uint64_t size, int *status);
void rpcbench_shm_release(struct husk_rpc_conn *c, struct husk_rpc_shm *shm);

/** `n` echo.ping() calls through the generated C client. */
int rpcbench_c_ping(struct husk_rpc_conn *c, uint64_t n, uint64_t *lat_ns);
/** `n` echo.echo(data) calls of `size` bytes; each reply is checked. */
int rpcbench_c_echo(struct husk_rpc_conn *c, uint32_t size, uint64_t n, uint64_t *lat_ns);
/** `n` calls of: copy `size` bytes from a private buffer into `shm`, then
 *  echo.checksum(shm ref) (the server CRC32Cs every byte); the reply's
 *  length is checked. */
int rpcbench_c_shm_checksum(struct husk_rpc_conn *c, struct husk_rpc_shm *shm, uint32_t size, uint64_t n,
                            uint64_t *lat_ns);

/** `clients` threads, each with its own connection to `path`, each making
 *  `calls` echo.ping() calls; latencies go to lat_ns[client * calls + i].
 *  *errors counts failed calls and failed connections (each connection
 *  failure counts `calls`). Returns 0, or the errno of pthread_create. */
int rpcbench_c_concurrent(const char *path, unsigned clients, uint64_t calls, uint64_t *lat_ns, uint64_t *errors);

#ifdef __cplusplus
}
#endif

#endif

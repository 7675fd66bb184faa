/* nic_bench.h — the raw loops of `husk bench nic`: what a program does
 * with a TAP descriptor and an AF_PACKET socket without Husk, the baseline
 * the NIC registry and the NIC server are compared with. Host-only. */
#ifndef NIC_BENCH_H
#define NIC_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Move this thread into a new network namespace of its own (unshare
 * CLONE_NEWNET): what it creates there disappears with the process. 0 or -1
 * with errno. */
int nicbench_private_netns(void);

/* An AF_PACKET raw socket bound to interface `ifname`: what it sends leaves
 * through that interface (for a TAP: arrives at the TAP descriptor). -1 with
 * errno on failure. */
int nicbench_packet_socket(const char *ifname);

/* Send `frame` (len bytes) on fd as fast as possible for `ns` nanoseconds
 * (write(2); a full queue, EAGAIN or ENOBUFS, is retried). Returns the
 * frames the kernel accepted. */
uint64_t nicbench_blast(int fd, const uint8_t *frame, size_t len, uint64_t ns);

/* The same until *stop becomes non-zero (for a sender beside a receiver). */
uint64_t nicbench_blast_until(int fd, const uint8_t *frame, size_t len, const volatile int *stop);

/* Read frames from a non-blocking fd for `ns` nanoseconds (poll + read);
 * returns the frames read, their bytes in *bytes. */
uint64_t nicbench_drain(int fd, uint64_t ns, uint64_t *bytes);

#endif

/*
 * lwipopts.h — lwIP's configuration for Husk (lwIP reads it through
 * lwip/opt.h; every option not set here keeps lwIP's default). Port layer,
 * ours: ThirdPartyC/lwip stays unmodified. docs/lwip.md explains the choices.
 */
#ifndef LWIPOPTS_H
#define LWIPOPTS_H

/* ---- Threads: the full OS mode. lwIP's core runs in one thread (the tcpip
 * thread) and other threads reach it through mailboxes or the core lock,
 * which sys_arch.c builds from glue mutexes, condition variables and
 * kthreads. Core locking lets the sequential APIs (netconn, sockets) call
 * into the core under the lock instead of a message round trip each. */
#define NO_SYS                  0
#define LWIP_TCPIP_CORE_LOCKING 1
#define LWIP_TCPIP_CORE_LOCKING_INPUT \
    0 /* received frames go through the mailbox: the NIC's input runs in irq context */
#define SYS_LIGHTWEIGHT_PROT      1
#define TCPIP_THREAD_NAME         "lwip-tcpip"
#define TCPIP_MBOX_SIZE           512
#define DEFAULT_RAW_RECVMBOX_SIZE 64
#define DEFAULT_UDP_RECVMBOX_SIZE 64
#define DEFAULT_TCP_RECVMBOX_SIZE 64
#define DEFAULT_ACCEPTMBOX_SIZE   16
/* lwIP calls this from functions that need the core: it panics a caller
 * that neither holds the core lock nor is the tcpip thread. */
#define LWIP_ASSERT_CORE_LOCKED() lwport_assert_core_locked()

/* ---- Memory: all of it from one region that the port allocates with
 * kmem_alloc before the stack starts (lwport_heap) and frees at unload, so
 * the host accounts it to the component. The pools (pbufs, PCBs, messages)
 * are carved from the same heap (MEMP_MEM_MALLOC) rather than from static
 * arrays, so MEM_SIZE is the one limit. The heap is protected by a mutex,
 * which makes pbuf_alloc usable from the NIC's receive callback. */
#define MEM_LIBC_MALLOC       0
#define MEMP_MEM_MALLOC       1
#define MEM_ALIGNMENT         8
#define MEM_SIZE              (8u * 1024u * 1024u)
#define LWIP_RAM_HEAP_POINTER lwport_heap

/* ---- Protocols: IPv4 and IPv6 over Ethernet, TCP, UDP, raw. Addresses are
 * configured statically (component parameters); no DHCP, AutoIP or DNS
 * client (nothing needs them yet). */
#define LWIP_IPV4            1
#define LWIP_IPV6            1
#define LWIP_ARP             1
#define LWIP_ETHERNET        1
#define LWIP_ICMP            1
#define LWIP_RAW             1
#define LWIP_UDP             1
#define LWIP_TCP             1
#define LWIP_DHCP            0
#define LWIP_AUTOIP          0
#define LWIP_DNS             0
#define LWIP_IGMP            1
#define LWIP_IPV6_MLD        1 /* needed for neighbour discovery's solicited-node groups */
#define LWIP_IPV6_AUTOCONFIG 1 /* SLAAC when a router advertises a prefix */
#define LWIP_IPV6_DHCP6      0
#define IP_REASSEMBLY        1
#define IP_FRAG              1
#define LWIP_IPV6_REASS      1
#define LWIP_IPV6_FRAG       1
#define IPV6_FRAG_COPYHEADER 1 /* 64-bit pointers do not fit in the fragment header lwIP would reuse */
#define ARP_QUEUEING         1

/* TCP sized for a LAN and a 1500-byte MTU: a 64 KiB window and send buffer
 * (window scaling would allow more; nothing needs it yet). */
#define TCP_MSS             1460
#define TCP_WND             (44u * TCP_MSS)
#define TCP_SND_BUF         (44u * TCP_MSS)
#define TCP_SND_QUEUELEN    ((4u * TCP_SND_BUF + TCP_MSS - 1u) / TCP_MSS)
#define TCP_QUEUE_OOSEQ     1
#define LWIP_TCP_KEEPALIVE  1
#define LWIP_TCP_TIMESTAMPS 0
#define TCP_LISTEN_BACKLOG  1
#define MEMP_NUM_TCP_SEG    TCP_SND_QUEUELEN

/* ---- The sequential APIs, compiled and initialised for the net server
 * (docs/lwip.md): netconn and BSD-style sockets under lwip_* names only
 * (no macros named socket, bind, read...). errno: the C subset's. */
#define LWIP_NETCONN                1
#define LWIP_SOCKET                 1
#define LWIP_COMPAT_SOCKETS         0
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
#define LWIP_SOCKET_POLL            1
#define LWIP_SO_RCVTIMEO            1
#define LWIP_SO_SNDTIMEO            1
#define LWIP_SO_RCVBUF              1
#define SO_REUSE                    1
#define LWIP_NETIF_API              0
#define LWIP_ERRNO_STDINCLUDE       1
#define LWIP_NETCONN_SEM_PER_THREAD 0
#define LWIP_NETCONN_FULLDUPLEX     0
/* lwIP's socket table is a static array of this many entries (the netconns
 * themselves come from the heap): the most sockets the net server's
 * clients hold at once. */
#define MEMP_NUM_NETCONN            512

/* ---- Interfaces: link changes from the NIC registry; the extended status
 * callback reports addresses (IPv6 becoming valid after DAD) to the log. */
#define LWIP_NETIF_LINK_CALLBACK       1
#define LWIP_NETIF_STATUS_CALLBACK     0
#define LWIP_NETIF_EXT_STATUS_CALLBACK 1
#define LWIP_NETIF_HOSTNAME            0
#define LWIP_SINGLE_NETIF              0
#define LWIP_HAVE_LOOPIF               0
#define LWIP_NETIF_LOOPBACK            0

/* ---- Checksums in software both ways: a provider may offer offloads
 * (netif.h), but a stack that uses none works with every provider. */
#define CHECKSUM_GEN_IP    1
#define CHECKSUM_GEN_TCP   1
#define CHECKSUM_GEN_UDP   1
#define CHECKSUM_CHECK_IP  1
#define CHECKSUM_CHECK_TCP 1
#define CHECKSUM_CHECK_UDP 1

/* ---- Statistics off; debugging messages (LWIP_DEBUG) off. */
#define LWIP_STATS 0

/* The apps of lwIP's src/apps that are compiled in: lwiperf (iperf 2). */
#define LWIPERF_CHECK_RX_DATA 0

#endif

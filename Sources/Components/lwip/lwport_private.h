/* lwport_private.h — prefix lwport: the lwip component's port layer (the
 * code of ours around lwIP 2.1.3, which is vendored unmodified in
 * ThirdPartyC/lwip). Upstream symbols keep lwIP's names; the functions of
 * lwIP's sys_arch interface (sys_*) are named by lwIP. docs/lwip.md. */
#ifndef LWPORT_PRIVATE_H
#define LWPORT_PRIVATE_H

/* lwIP and the glue both define a struct netif: lwIP's interface, and the
 * registry's record of a NIC provider (husk/glue/netif.h). The port is a
 * consumer of the registry and never uses the provider's record, so that
 * one is renamed while the glue's header is read. */
#define netif lwport_glue_provider_netif
#include <husk/glue/netif.h>
#undef netif
#include <husk/glue.h>
#include "lwip/opt.h"
#include "lwip/netif.h"
#include "lwip/ip_addr.h"

/* The component's parameters (lwport_params.c). */
struct lwport_params {
    char ifname[NETIF_NAME_MAX + 1]; /* the NIC registry's interface (ifname, default husk0) */
    bool has_ip4;
    ip4_addr_t ip4, netmask4, gateway4; /* address=A.B.C.D/N, gateway=A.B.C.D */
    bool has_ip6;
    ip6_addr_t ip6;     /* address6=X::Y (a /64, lwIP's only prefix length) */
    bool lwiperf;       /* lwiperf=1: lwIP's iperf 2 server on TCP port 5001 */
    uint64_t echo_port; /* echo=PORT: a TCP echo service (0: none) */
};

/* The interface: lwIP's netif bound to the registry's interface. */
struct lwport_if {
    struct netif nif;
    struct netif_ref *ref;
    struct netif_info info;
    char ifname[NETIF_NAME_MAX + 1];
    void *txbuf;                         /* a whole frame, for pbuf chains (only the tcpip thread sends) */
    size_t frame_cap;                    /* header + VLAN tag + MTU */
    bool closed;                         /* set under the core lock before the registry's close */
    kmutex_t lock;                       /* guards ready, link, link_seen and the counters */
    bool ready;                          /* lwIP knows the netif: frames may go to it */
    uint32_t link;                       /* the latest NETIF_LINK_* from the provider */
    bool link_seen;                      /* a link callback came after the open */
    struct tcpip_callback_msg *link_msg; /* preallocated: the link callback runs in irq context */
    uint64_t rx_frames, rx_dropped, tx_frames, tx_errors;
};

/* sys_arch.c: the port's state around lwIP's sys_arch interface. */
HUSK_PRIVATE int lwport_sys_start(husk_ctx *ctx, const struct husk_hyp *hyp);
HUSK_PRIVATE void lwport_sys_stop(void);

/* lwport_params.c: read and check every parameter; logs each problem. */
HUSK_PRIVATE int lwport_params_load(struct lwport_params *p);

/* lwport_netif.c: open the registry's interface and add it to lwIP (under
 * the core lock), and the reverse. */
HUSK_PRIVATE int lwport_if_attach(struct lwport_if *ifp, const struct lwport_params *p);
HUSK_PRIVATE void lwport_if_detach(struct lwport_if *ifp);

/* lwport_echo.c: a TCP echo service on lwIP's raw API (the tcpip thread). */
HUSK_PRIVATE int lwport_echo_start(uint16_t port);

/* lwport_socket.c: lwIP's sockets as the glue's socket provider "lwip"
 * (husk/glue/socket.h); stop withdraws it and closes what consumers left. */
HUSK_PRIVATE int lwport_sockets_start(void);
HUSK_PRIVATE void lwport_sockets_stop(void);
/* lwport_sockfix.c: forget or detach a TCP pcb lwIP 2.1.3 frees without
 * telling the socket's netconn (an upstream bug; see the file). */
HUSK_PRIVATE void lwport_sock_settle(int fd);

#endif

/*
 * husk/glue/netif.h — a registry of network interfaces, where NIC drivers
 * (providers: virtio_net, a TAP on the host) meet network stacks
 * (consumers), as disk.h does for block devices. A provider registers an
 * interface by name; one consumer at a time opens it and exchanges
 * Ethernet frames (destination, source, type, payload; no FCS).
 *
 * Buffer ownership, stated once for every call below:
 *   - Transmit: the frame passed to glue_netif_send stays the consumer's.
 *     The provider's transmit copies it (into a descriptor's buffer, a host
 *     write) before it returns; nothing refers to it afterwards.
 *   - Receive: the provider lends each received frame. glue_netif_input
 *     hands it to the consumer's input callback; from then on it belongs to
 *     the consumer, who gives it back exactly once with glue_netif_rx_done
 *     (during the callback or later). The glue then returns it to the
 *     provider's rx_return, and the provider may reuse it. A frame that
 *     glue_netif_input refuses stays the provider's.
 *   - Closing returns every frame the consumer still holds to the provider;
 *     unregistering waits until every lent frame is back and no call is
 *     inside transmit.
 *
 * Contexts: input and link callbacks run on the provider's receive thread
 * (irq context): they must not block. transmit runs on the consumer's
 * thread.
 */
#ifndef HUSK_GLUE_NETIF_H
#define HUSK_GLUE_NETIF_H

#include <husk/glue/base.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NETIF_NAME_MAX   15u /* bytes of an interface name, without the NUL */
#define NETIF_HEADER_LEN 14u /* Ethernet: destination, source, type */
#define NETIF_VLAN_LEN   4u  /* an 802.1Q tag a frame may carry */
#define NETIF_MTU_MIN    68u /* the smallest MTU IPv4 allows */
#define NETIF_MTU_MAX    65535u

/* netif_info.link */
#define NETIF_LINK_DOWN 0u
#define NETIF_LINK_UP   1u

/* netif_info.offloads: what the provider can do for the consumer. None is
 * required; a consumer that uses none works with every provider. */
#define NETIF_OFFLOAD_TX_CSUM 1u /* fills in TCP/UDP checksums on transmit */
#define NETIF_OFFLOAD_RX_CSUM 2u /* has checked TCP/UDP checksums on receive */

struct netif_info {
    uint8_t mac[6];    /* the interface's Ethernet address */
    uint16_t reserved; /* 0 */
    uint32_t mtu;      /* largest payload after the Ethernet header, NETIF_MTU_MIN..NETIF_MTU_MAX */
    uint32_t offloads; /* NETIF_OFFLOAD_* */
    uint32_t link;     /* NETIF_LINK_*: the state at registration; glue_netif_link changes it */
};

/* A provider's interface. The struct must stay valid until unregistered. */
struct netif {
    const char *name; /* unique: 1..NETIF_NAME_MAX bytes of [A-Za-z0-9_.-] */
    struct netif_info info;
    /* [blocks: no] [irq: no] Send one frame of len bytes (checked by the
     * glue: NETIF_HEADER_LEN <= len <= NETIF_HEADER_LEN + NETIF_VLAN_LEN +
     * mtu). Copy it before returning. 0, HUSK_EAGAIN (transmit queue full:
     * the consumer may retry), HUSK_EIO (device error). */
    int (*transmit)(void *priv, const void *frame, size_t len);
    /* [blocks: no] [irq: yes] A frame lent through glue_netif_input is
     * back; the provider owns it again. */
    void (*rx_return)(void *priv, void *frame);
    void *priv;
};

/* What a consumer receives. */
struct netif_consumer {
    /* [irq context] One frame of len bytes; the consumer owns it until it
     * calls glue_netif_rx_done(ref, frame). */
    void (*input)(void *arg, void *frame, size_t len);
    /* [irq context] The link went up or down (NETIF_LINK_*). May be NULL. */
    void (*link)(void *arg, uint32_t link);
    void *arg;
};

struct netif_ref; /* a consumer's open interface; opaque */

/* ---- Providers. */

/* [blocks: no] [irq: no] Offer nif. 0, HUSK_EINVAL (bad name, MTU out of
 * range, no transmit or rx_return, link not NETIF_LINK_*), HUSK_EEXIST. */
int glue_netif_register(const struct netif *nif);
/* [blocks: yes] [irq: no] Withdraw nif: the consumer's sends fail with
 * HUSK_ENODEV from now on; returns once no call is inside transmit and
 * every lent frame has come back through rx_return. */
void glue_netif_unregister(const struct netif *nif);
/* [blocks: no] [irq: yes] Lend a received frame to the consumer. 0 (the
 * consumer owns it until it returns it), HUSK_ENOENT (no consumer has the
 * interface open: drop it), HUSK_EINVAL (len outside NETIF_HEADER_LEN ..
 * NETIF_HEADER_LEN + NETIF_VLAN_LEN + mtu), HUSK_ENODEV (not registered).
 * On an error the frame stays the provider's. */
int glue_netif_input(const struct netif *nif, void *frame, size_t len);
/* [blocks: no] [irq: yes] The link went up or down: recorded, and the
 * consumer's link callback runs. */
void glue_netif_link(const struct netif *nif, uint32_t link);

/* ---- Consumers. */

/* [blocks: no] [irq: no] Open the interface called name for c (copied).
 * 0 and *out, HUSK_ENOENT (no such interface), HUSK_EBUSY (another
 * consumer has it open), HUSK_EINVAL (no input callback). */
int glue_netif_open(const char *name, const struct netif_consumer *c, struct netif_ref **out);
/* [blocks: yes] [irq: no] Stop receiving: returns once no callback of this
 * consumer is running; frames it still holds go back to the provider.
 * NULL is ignored. */
void glue_netif_close(struct netif_ref *ref);
/* [blocks: no] [irq: no] The interface's address, MTU, offloads and current link state. */
void glue_netif_info(const struct netif_ref *ref, struct netif_info *out);
/* [blocks: no] [irq: no] Send one frame (see struct netif.transmit; the
 * frame stays the caller's). 0, HUSK_EINVAL (length), HUSK_ENODEV (the
 * interface was withdrawn), HUSK_EAGAIN, HUSK_EIO. */
int glue_netif_send(struct netif_ref *ref, const void *frame, size_t len);
/* [blocks: no] [irq: yes] Give back a frame the input callback lent.
 * Returning a frame twice, or one this consumer does not hold, panics. */
void glue_netif_rx_done(struct netif_ref *ref, void *frame);

#ifdef __cplusplus
}
#endif

#endif

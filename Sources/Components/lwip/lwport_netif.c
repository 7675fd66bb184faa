/*
 * lwport_netif.c — lwIP's netif bound to an interface of the glue's NIC
 * registry (husk/glue/netif.h), the stack being the registry's consumer:
 *   receive:  the provider's input callback (irq context) copies the frame
 *             into a pbuf, gives the frame back at once and hands the pbuf
 *             to the tcpip thread (tcpip_input: a mailbox post, no wait);
 *   transmit: linkoutput (tcpip thread, core lock held) sends the frame
 *             with glue_netif_send, which copies it before returning;
 *   link:     the provider's link callback (irq context) records the state
 *             and queues a preallocated callback that sets lwIP's link.
 * Why copy on receive instead of wrapping the lent frame in a pbuf: lwIP
 * may keep received pbufs for long (out-of-order TCP segments, reassembly,
 * frames queued for ARP), and a provider lends only a few buffers (tap:
 * 64); a stack holding them all would stop the NIC's receive path.
 */
#include "lwport_private.h"
#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"

static void lwport_count(struct lwport_if *ifp, uint64_t *counter) {
    mutex_enter(&ifp->lock);
    (*counter)++;
    mutex_exit(&ifp->lock);
}

/* [irq context] One frame from the provider. */
static void lwport_input(void *arg, void *frame, size_t len) {
    struct lwport_if *ifp = arg;
    mutex_enter(&ifp->lock);
    bool ready = ifp->ready;
    mutex_exit(&ifp->lock);
    if (!ready) {
        glue_netif_rx_done(ifp->ref, frame); /* lwIP does not know the interface yet */
        lwport_count(ifp, &ifp->rx_dropped);
        return;
    }
    struct pbuf *p = len <= 0xffffu ? pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM) : NULL;
    if (p != NULL) memcpy(p->payload, frame, len);
    glue_netif_rx_done(ifp->ref, frame);
    if (p == NULL) {
        lwport_count(ifp, &ifp->rx_dropped); /* heap exhausted */
        return;
    }
    if (tcpip_input(p, &ifp->nif) != ERR_OK) {
        pbuf_free(p); /* the tcpip mailbox is full */
        lwport_count(ifp, &ifp->rx_dropped);
        return;
    }
    lwport_count(ifp, &ifp->rx_frames);
}

/* [tcpip thread] Apply the provider's latest link state. */
static void lwport_link_apply(void *arg) {
    struct lwport_if *ifp = arg;
    mutex_enter(&ifp->lock);
    uint32_t link = ifp->link;
    mutex_exit(&ifp->lock);
    if (ifp->closed) return;
    if (link == NETIF_LINK_UP && !netif_is_link_up(&ifp->nif)) {
        glue_dev_logf(LOG_INFO, ifp->ifname, "link up");
        netif_set_link_up(&ifp->nif);
    } else if (link == NETIF_LINK_DOWN && netif_is_link_up(&ifp->nif)) {
        glue_dev_logf(LOG_INFO, ifp->ifname, "link down");
        netif_set_link_down(&ifp->nif);
    }
}

/* [irq context] The provider's link changed. The callback message is
 * preallocated, so this neither allocates nor waits; posting it twice
 * before it runs is harmless (it reads the latest state). */
static void lwport_link(void *arg, uint32_t link) {
    struct lwport_if *ifp = arg;
    mutex_enter(&ifp->lock);
    ifp->link = link;
    ifp->link_seen = true;
    mutex_exit(&ifp->lock);
    if (tcpip_callbackmsg_trycallback(ifp->link_msg) != ERR_OK)
        glue_dev_logf(LOG_WARN, ifp->ifname, "link change to %s not applied: the tcpip mailbox is full",
                      link == NETIF_LINK_UP ? "up" : "down");
}

/* [tcpip thread, core lock] Send one frame; a chain is gathered into txbuf. */
static err_t lwport_linkoutput(struct netif *nif, struct pbuf *p) {
    struct lwport_if *ifp = nif->state;
    if (ifp->closed) return ERR_IF;
    const void *frame = p->payload;
    if (p->next != NULL) {
        if (p->tot_len > ifp->frame_cap) {
            ifp->tx_errors++;
            return ERR_BUF;
        }
        pbuf_copy_partial(p, ifp->txbuf, p->tot_len, 0);
        frame = ifp->txbuf;
    }
    int error = glue_netif_send(ifp->ref, frame, p->tot_len);
    lwport_count(ifp, error == 0 ? &ifp->tx_frames : &ifp->tx_errors);
    return error == 0 ? ERR_OK : error == HUSK_EAGAIN ? ERR_MEM : ERR_IF;
}

/* Log address changes: IPv6 addresses become usable only after duplicate
 * address detection, and the log is how a user (or a test) sees it. */
static void lwport_status(struct netif *nif, netif_nsc_reason_t reason, const netif_ext_callback_args_t *args) {
    struct lwport_if *ifp = nif->state;
    if (nif->linkoutput != lwport_linkoutput) return; /* not ours */
    if (reason & LWIP_NSC_IPV6_ADDR_STATE_CHANGED) {
        s8_t i = args->ipv6_addr_state_changed.addr_index;
        u8_t state = netif_ip6_addr_state(nif, i);
        char text[IP6ADDR_STRLEN_MAX];
        ip6addr_ntoa_r(netif_ip6_addr(nif, i), text, sizeof text);
        const char *what = ip6_addr_ispreferred(state)    ? "preferred"
                           : ip6_addr_istentative(state)  ? "tentative"
                           : ip6_addr_isduplicated(state) ? "duplicated (another node has it)"
                           : ip6_addr_isinvalid(state)    ? "removed"
                                                          : "valid";
        glue_dev_logf(LOG_INFO, ifp->ifname, "IPv6 address %s is %s", text, what);
    }
}
NETIF_DECLARE_EXT_CALLBACK(lwport_status_cb)

/* netif_add's init: the Ethernet interface lwIP will drive. */
static err_t lwport_if_init(struct netif *nif) {
    struct lwport_if *ifp = nif->state;
    nif->name[0] = 'h';
    nif->name[1] = 'k';
    nif->output = etharp_output;
    nif->output_ip6 = ethip6_output;
    nif->linkoutput = lwport_linkoutput;
    nif->mtu = (u16_t)(ifp->info.mtu > 0xffffu ? 0xffffu : ifp->info.mtu);
    nif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(nif->hwaddr, ifp->info.mac, ETH_HWADDR_LEN);
    nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
    return ERR_OK;
}

int lwport_if_attach(struct lwport_if *ifp, const struct lwport_params *p) {
    glue_snprintf(ifp->ifname, sizeof ifp->ifname, "%s", p->ifname);
    int error = mutex_init(&ifp->lock, "lwip-if");
    if (error != 0) return error;
    ifp->link_msg = tcpip_callbackmsg_new(lwport_link_apply, ifp);
    if (ifp->link_msg == NULL) {
        mutex_destroy(&ifp->lock);
        return HUSK_ENOMEM;
    }
    const struct netif_consumer consumer = {.input = lwport_input, .link = lwport_link, .arg = ifp};
    /* Frames may arrive at once: lwport_input drops them until ready. */
    error = glue_netif_open(p->ifname, &consumer, &ifp->ref);
    if (error != 0) {
        glue_dev_logf(LOG_ERR, p->ifname, "cannot open the interface: %s%s", glue_strerror(error),
                      error == HUSK_ENOENT  ? " (is its NIC component loaded, e.g. --component tap?)"
                      : error == HUSK_EBUSY ? " (another stack or server has it open)"
                                            : "");
        tcpip_callbackmsg_delete(ifp->link_msg);
        mutex_destroy(&ifp->lock);
        return error;
    }
    glue_netif_info(ifp->ref, &ifp->info);
    ifp->frame_cap = NETIF_HEADER_LEN + NETIF_VLAN_LEN + ifp->info.mtu;
    ifp->txbuf = kmem_alloc(ifp->frame_cap, KM_SLEEP);
    LOCK_TCPIP_CORE();
    const ip4_addr_t *none = IP4_ADDR_ANY4;
    netif_add(&ifp->nif, p->has_ip4 ? &p->ip4 : none, p->has_ip4 ? &p->netmask4 : none,
              p->has_ip4 ? &p->gateway4 : none, ifp, lwport_if_init, tcpip_input);
    netif_add_ext_callback(&lwport_status_cb, lwport_status);
    netif_set_default(&ifp->nif);
    netif_create_ip6_linklocal_address(&ifp->nif, 1);
    if (p->has_ip6) {
        s8_t index = -1;
        if (netif_add_ip6_address(&ifp->nif, &p->ip6, &index) != ERR_OK)
            glue_dev_logf(LOG_WARN, ifp->ifname, "no room for the IPv6 address (LWIP_IPV6_NUM_ADDRESSES)");
    }
    ifp->nif.ip6_autoconfig_enabled = 1;
    netif_set_up(&ifp->nif);
    UNLOCK_TCPIP_CORE();
    /* The link state as registered, or as a callback changed it since. */
    mutex_enter(&ifp->lock);
    ifp->ready = true;
    if (ifp->link_seen == false) ifp->link = ifp->info.link;
    uint32_t link = ifp->link;
    mutex_exit(&ifp->lock);
    LOCK_TCPIP_CORE();
    lwport_link_apply(ifp);
    UNLOCK_TCPIP_CORE();

    const uint8_t *m = ifp->info.mac;
    char ip4[IP4ADDR_STRLEN_MAX], mask[IP4ADDR_STRLEN_MAX];
    ip4addr_ntoa_r(netif_ip4_addr(&ifp->nif), ip4, sizeof ip4);
    ip4addr_ntoa_r(netif_ip4_netmask(&ifp->nif), mask, sizeof mask);
    glue_dev_logf(LOG_INFO, ifp->ifname,
                  "lwIP interface: MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU %u, IPv4 %s netmask %s, link %s", m[0], m[1],
                  m[2], m[3], m[4], m[5], ifp->info.mtu, p->has_ip4 ? ip4 : "none", mask,
                  link == NETIF_LINK_UP ? "up" : "down");
    return 0;
}

void lwport_if_detach(struct lwport_if *ifp) {
    /* Under the core lock lwIP lets go of the netif; linkoutput then sees
     * closed and never reaches the registry after the close below. Frames
     * already queued for the tcpip thread still name the netif, which stays
     * allocated until that thread has ended. */
    LOCK_TCPIP_CORE();
    ifp->closed = true;
    netif_remove_ext_callback(&lwport_status_cb);
    netif_set_down(&ifp->nif);
    netif_remove(&ifp->nif);
    UNLOCK_TCPIP_CORE();
    glue_netif_close(ifp->ref);
    glue_dev_logf(LOG_INFO, ifp->ifname, "%llu frames received (%llu dropped), %llu sent (%llu errors)",
                  (unsigned long long)ifp->rx_frames, (unsigned long long)ifp->rx_dropped,
                  (unsigned long long)ifp->tx_frames, (unsigned long long)ifp->tx_errors);
    kmem_free(ifp->txbuf, ifp->frame_cap);
    mutex_destroy(&ifp->lock);
    /* link_msg lives in lwIP's heap, which goes as a whole. */
}

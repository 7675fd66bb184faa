/*
 * lwport_sockfix.c — a port-layer workaround for a known lwIP 2.1.3 bug
 * (lwip-devel, January 2019; esp-idf issue 2931): a TCP connection whose
 * receive side the netconn has shut (which lwIP's sockets do by themselves
 * when the application reads the end of the stream) and whose pcb is in
 * LAST_ACK or TIME_WAIT is freed by lwIP when the last ACK arrives or the
 * TIME_WAIT timer expires, without the error callback that would tell the
 * netconn (tcp_input_delayed_close skips it when TF_RXCLOSED is set). The
 * netconn keeps the freed pcb, and closing the socket frees it a second
 * time: "mem_free: illegal memory: double free". It happens to every
 * socket that shuts down its sending side after the peer's FIN arrived and
 * reads that FIN afterwards (an nc-style copy in both directions).
 *
 * ThirdPartyC stays unmodified, so the port settles such sockets itself,
 * under the core lock, at the moments the condition can arise (the end of
 * the stream read, a shutdown of the receive side) and before every close:
 * a pcb that is no longer one of lwIP's, or no longer this netconn's, is
 * forgotten; a pcb with both directions done is detached from the netconn
 * (its callbacks cleared), so that lwIP finishes and frees it alone. The
 * glue runs one op per socket at a time, so nothing uses the netconn's pcb
 * between lwIP's shutdown and this check. Only for sockets that were
 * connected: their pcb, while it lives, is on lwIP's active or TIME_WAIT
 * list (a listening or merely bound pcb is on others, and one never bound
 * on none).
 */
#include "lwport_private.h"
#include "lwip/api.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "lwip/priv/sockets_priv.h"
#include "lwip/priv/tcp_priv.h"

static bool lwport_pcb_listed(const struct tcp_pcb *list, const struct tcp_pcb *pcb) {
    for (; list != NULL; list = list->next)
        if (list == pcb) return true;
    return false;
}

void lwport_sock_settle(int fd) {
    struct lwip_sock *sock = lwip_socket_dbg_get_socket(fd);
    if (sock == NULL || sock->conn == NULL || NETCONNTYPE_GROUP(netconn_type(sock->conn)) != NETCONN_TCP) return;
    LOCK_TCPIP_CORE();
    struct netconn *conn = sock->conn;
    struct tcp_pcb *pcb = conn->pcb.tcp;
    if (pcb != NULL) {
        /* The memory of a freed pcb may be another connection's by now: the
         * callback argument says whose it is. */
        bool ours = (lwport_pcb_listed(tcp_active_pcbs, pcb) || lwport_pcb_listed(tcp_tw_pcbs, pcb)) &&
                    pcb->callback_arg == conn;
        if (!ours) {
            conn->pcb.tcp = NULL;
        } else if ((pcb->flags & TF_RXCLOSED) != 0 && (pcb->state == LAST_ACK || pcb->state == TIME_WAIT)) {
            tcp_arg(pcb, NULL);
            tcp_recv(pcb, NULL);
            tcp_sent(pcb, NULL);
            tcp_poll(pcb, NULL, 0);
            tcp_err(pcb, NULL);
            conn->pcb.tcp = NULL;
        }
    }
    UNLOCK_TCPIP_CORE();
}

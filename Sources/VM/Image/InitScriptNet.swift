/// The /init functions of the virtio-net scenarios (docs/vm-guest.md): two
/// virtio NICs joined to each other on the host's loopback; NIC A (the lower
/// PCI address) is driven by husk's virtio_net through `husk nic serve`, NIC
/// B by the guest kernel's virtio_net, which is the peer `husk nic probe`
/// talks to. Part of InitScript.text (and so of the image's cache key).
enum InitScriptNet {
    static let functions = #"""
        # --- virtio-net scenarios (InitScriptNet.swift) ---
        NET_A_IP=169.254.77.2    # NIC A: husk's driver, through the NIC server
        NET_B_IP=169.254.77.1    # NIC B: the guest kernel's virtio_net
        NICS_FOUND=0

        find_nics() {  # NIC_A, NIC_B: the two 1af4:1041 functions (modern virtio-net), lower address first
            set --
            for d in /sys/bus/pci/devices/*; do
                if [ "$(cat $d/vendor)" = 0x1af4 ] && [ "$(cat $d/device)" = 0x1041 ]; then set -- "$@" "${d##*/}"; fi
            done
            NICS_FOUND=$#
            [ $# = 2 ] || return 1
            NIC_A=$1; NIC_B=$2
        }

        netdev_of() {  # netdev_of BDF: the kernel's interface on that device (waits up to 10 s)
            i=0
            while [ $i -lt 100 ]; do
                for n in /sys/bus/pci/devices/$1/virtio*/net/*; do
                    if [ -e "$n" ]; then echo "${n##*/}"; return 0; fi
                done
                sleep 0.1; i=$((i + 1))
            done
            return 1
        }

        kernel_up() {  # kernel_up IF ADDR: ADDR/24, no IPv6 chatter, up, then wait for the carrier
            echo 1 > /proc/sys/net/ipv6/conf/$1/disable_ipv6 2>/dev/null
            ip addr add $2/24 dev $1 && ip link set $1 up || return 1
            i=0
            while [ "$(cat /sys/class/net/$1/operstate)" != up ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
            [ "$(cat /sys/class/net/$1/operstate)" = up ]
        }

        stat_of() { cat /sys/class/net/$1/statistics/$2; }  # stat_of IF rx_packets

        kernel_nic() {  # NIC B on the guest kernel's virtio_net, NIC A left where it is
            load_group virtio-net || return 1
            if ! IFB=$(netdev_of $NIC_B); then
                check kernel-nic FAIL "no network interface on $NIC_B (driver $(driver_of $NIC_B))"
                return 1
            fi
            if ! kernel_up $IFB $NET_B_IP; then
                check kernel-nic FAIL "$IFB: no $NET_B_IP/24 or no carrier (operstate $(cat /sys/class/net/$IFB/operstate))"
                return 1
            fi
            case "$(driver_of $NIC_A)" in
                vfio-pci|uio_pci_generic) ;;
                *) check kernel-nic FAIL "NIC A $NIC_A is on $(driver_of $NIC_A), not on vfio-pci or uio_pci_generic"; return 1 ;;
            esac
            check kernel-nic PASS "$IFB on $NIC_B: mac $(cat /sys/class/net/$IFB/address), $NET_B_IP/24, up; NIC A stays on $(driver_of $NIC_A)"
        }

        net_probe() {  # ARP and 3 echoes from husk's side; the kernel's replies come back through husk's driver
            rx0=$(stat_of $IFB rx_packets); tx0=$(stat_of $IFB tx_packets)
            out=$(husk nic probe --socket $SOCK --ip $NET_A_IP --peer $NET_B_IP --count 3 --timeout 10 2>&1); rc=$?
            echo "$out" | while IFS= read -r l; do echo "HUSK-LOG probe: $l"; done
            drx=$(($(stat_of $IFB rx_packets) - rx0)); dtx=$(($(stat_of $IFB tx_packets) - tx0))
            macb=$(cat /sys/class/net/$IFB/address)
            arp=$(echo "$out" | grep '^arp:')
            case "$arp" in
                "arp: $NET_B_IP is at $macb "*) check probe-arp PASS "$arp: the kernel's $IFB" ;;
                *) check probe-arp FAIL "${arp:-no arp line} (the kernel's $IFB is $macb; probe exit status $rc)" ;;
            esac
            sum=$(echo "$out" | grep '^probe:')
            case "$sum" in
                "probe: 3/3 echo replies"*) check probe-icmp PASS "${sum#probe: }" ;;
                *) check probe-icmp FAIL "${sum:-no summary line} (probe exit status $rc)" ;;
            esac
            if [ $drx -ge 4 ] && [ $dtx -ge 4 ]; then r=PASS; else r=FAIL; fi
            check kernel-counters $r "$IFB rx +$drx tx +$dtx packets during the probe (ARP and 3 echoes: at least 4 each way)"
        }

        net_server_counters() {  # husk nic info: the server's counters, and whose address the kernel learned
            info=$(husk nic info --socket $SOCK 2>&1); rc=$?
            echo "$info" | while IFS= read -r l; do echo "HUSK-LOG info: $l"; done
            counter() { echo "$info" | tr ',' '\n' | sed -n "s/^ *$1 \([0-9][0-9]*\)\$/\1/p" | head -n 1; }
            rx=$(counter rx_frames); tx=$(counter tx_frames); err=$(counter tx_errors)
            if [ $rc = 0 ] && [ "${rx:-0}" -ge 4 ] && [ "${tx:-0}" -ge 4 ] && [ "$err" = 0 ]; then r=PASS; else r=FAIL; fi
            check server-counters $r "rx_frames ${rx:-?} tx_frames ${tx:-?} tx_errors ${err:-?} (husk nic info exit status $rc)"
            maca=$(echo "$info" | sed -n 's/^[A-Za-z0-9_.-]*: mac \([0-9a-f:]*\) .*/\1/p' | head -n 1)
            learned=$(ip neigh show $NET_A_IP dev $IFB | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')
            if [ -n "$maca" ] && [ "$learned" = "$maca" ]; then r=PASS; else r=FAIL; fi
            check kernel-neighbour $r "the kernel learned $NET_A_IP at ${learned:-no address}; the server's interface is ${maca:-?}"
        }

        # virtio-net-tcp: husk net serve (lwIP over husk's driver on NIC A) and the guest kernel's TCP on NIC B.
        TCP_BYTES=1048576

        wait_for_line() {  # wait_for_line FILE TEXT PID: up to 20 s for TEXT in FILE while PID lives
            i=0
            while ! grep -q "$2" $1 2>/dev/null; do
                kill -0 $3 2>/dev/null || return 1
                i=$((i + 1)); [ $i -gt 200 ] && return 1
                sleep 0.1
            done
        }

        kernel_listening() {  # kernel_listening PORT: a TCP socket of the kernel listens on it, IPv4 or IPv6 (waits up to 5 s)
            hex=$(printf ':%04X ' $1)
            i=0
            while ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q "$hex[0-9A-F:]* 0A "; do
                i=$((i + 1)); [ $i -gt 50 ] && return 1
                sleep 0.1
            done
        }

        wait_bounded() {  # wait_bounded PID SECONDS: its exit status; killed (status 143) if it lives longer
            i=0
            while kill -0 $1 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
            kill $1 2>/dev/null
            wait $1
        }

        uptime_cs() { cut -d' ' -f1 /proc/uptime | tr -d .; }  # uptime in hundredths of a second

        sha() { sha256sum < $1 | cut -d' ' -f1; }
        size_of() { wc -c < $1 | tr -d ' '; }

        # Every client is bounded (busybox timeout, wait_bounded), so a stalled transfer fails its
        # check instead of waiting for the watchdog. (busybox 1.35's wget crashes with -T.)
        tcp_husk_to_kernel() {  # husk net listen serves an HTTP response; busybox wget (the kernel's TCP) fetches it
            { printf 'HTTP/1.0 200 OK\r\nContent-Length: %s\r\nContent-Type: application/octet-stream\r\n\r\n' $TCP_BYTES
              cat /tmp/tcp.data; } > /tmp/tcp.response
            husk net listen --socket $SOCK 8080 < /tmp/tcp.response > /tmp/tcp.request 2> /tmp/tcp.listen.log &
            lpid=$!
            if ! wait_for_line /tmp/tcp.listen.log "listening on" $lpid; then
                wait_bounded $lpid 1; rc=$?
                check tcp-husk-to-kernel FAIL "husk net listen did not listen (exit status $rc): $(tail -n 1 /tmp/tcp.listen.log)"
                return
            fi
            t0=$(uptime_cs)
            out=$(timeout 60 wget -q -O /tmp/tcp.fetched http://$NET_A_IP:8080/file 2>&1); rc=$?
            t1=$(uptime_cs)
            wait_bounded $lpid 10; lrc=$?
            sed 's/^/HUSK-LOG listen: /' /tmp/tcp.listen.log
            got=$(sha /tmp/tcp.fetched 2>/dev/null); n=$(size_of /tmp/tcp.fetched 2>/dev/null)
            req=$(head -n 1 /tmp/tcp.request | tr -d '\r')
            if [ $rc = 0 ] && [ $lrc = 0 ] && [ "$got" = "$TCP_SHA" ] && [ "$req" = "GET /file HTTP/1.1" ]; then r=PASS; else r=FAIL; fi
            check tcp-husk-to-kernel $r "wget from husk net listen at $NET_A_IP:8080: ${n:-0} bytes in $(((t1 - t0) * 10)) ms, sha256 ${got:-none} (want $TCP_SHA); request '$req'; wget status $rc${out:+ ($out)}, listen status $lrc"
        }

        tcp_kernel_to_husk() {  # busybox nc -l (the kernel's TCP) receives what husk net connect sends
            nc -l -p 8081 < /dev/null > /tmp/tcp.received 2> /tmp/tcp.nc.log &
            npid=$!
            if ! kernel_listening 8081; then
                kill $npid 2>/dev/null; wait $npid
                check tcp-kernel-to-husk FAIL "busybox nc -l -p 8081 is not listening: $(cat /tmp/tcp.nc.log)"
                return
            fi
            t0=$(uptime_cs)
            out=$(timeout 60 husk net connect --socket $SOCK $NET_B_IP 8081 < /tmp/tcp.data 2>&1); rc=$?
            t1=$(uptime_cs)
            wait_bounded $npid 10; nrc=$?
            got=$(sha /tmp/tcp.received); n=$(size_of /tmp/tcp.received)
            if [ $rc = 0 ] && [ $nrc = 0 ] && [ "$got" = "$TCP_SHA" ]; then r=PASS; else r=FAIL; fi
            check tcp-kernel-to-husk $r "husk net connect to nc -l at $NET_B_IP:8081: $n bytes in $(((t1 - t0) * 10)) ms, sha256 $got (want $TCP_SHA); connect status $rc${out:+ ($out)}, nc status $nrc"
        }

        tcp_refused() {  # both stacks answer a SYN to a closed port with a reset, and each client names it
            out=$(timeout 30 husk net connect --socket $SOCK $NET_B_IP 8099 < /dev/null 2>&1); rc=$?
            wout=$(timeout 20 wget -q -O /tmp/tcp.none http://$NET_A_IP:8099/ 2>&1); wrc=$?
            case "$out" in *"connect $NET_B_IP:8099: ECONNREFUSED"*) a=1 ;; *) a=0 ;; esac
            case "$wout" in *"refused"*) b=1 ;; *) b=0 ;; esac
            if [ $rc = 1 ] && [ $a = 1 ] && [ $wrc != 0 ] && [ $b = 1 ]; then r=PASS; else r=FAIL; fi
            check tcp-refused $r "husk -> kernel port 8099: '$out' (status $rc); kernel -> husk port 8099: '$wout' (status $wrc)"
        }

        net_tcp() {
            head -c $TCP_BYTES /dev/urandom > /tmp/tcp.data
            TCP_SHA=$(sha /tmp/tcp.data)
            tcp_husk_to_kernel
            tcp_kernel_to_husk
            tcp_refused
        }

        wiring_send() {  # wiring_send FROM FROM_IP TO TO_IP NAME: 3 ARP requests sent on FROM arrive on TO
            rx0=$(stat_of $3 rx_packets)
            out=$(arping -c 3 -w 5 -I $1 -s $2 $4 2>&1)
            d=$(($(stat_of $3 rx_packets) - rx0))
            replies=$(echo "$out" | sed -n 's/^Received \([0-9]*\) response.*/\1/p')
            if [ $d -ge 3 ]; then r=PASS; else r=FAIL; fi
            check $5 $r "arping -I $1: $3 rx +$d packets (want 3), ${replies:-no} replies back on $1"
        }

        net_wiring() {  # both NICs on the guest kernel: does the host's wiring pass frames both ways?
            load_group virtio-net || finish
            IFA=$(netdev_of $NIC_A) && IFB=$(netdev_of $NIC_B) || fail_out kernel-nics "no network interfaces on $NIC_A and $NIC_B"
            kernel_up $IFA $NET_A_IP && kernel_up $IFB $NET_B_IP || fail_out kernel-nics "$IFA/$IFB: no address or no carrier"
            check kernel-nics PASS "$IFA ($NIC_A) $NET_A_IP, $IFB ($NIC_B) $NET_B_IP, both up"
            wiring_send $IFA $NET_A_IP $IFB $NET_B_IP wiring-a-to-b
            wiring_send $IFB $NET_B_IP $IFA $NET_A_IP wiring-b-to-a
        }
        """#
}

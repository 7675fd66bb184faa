/// The guest's /init: a busybox sh script that runs the scenario named on the
/// kernel command line and reports on the console (docs/vm-guest.md).
/// Kept as one readable string; its text is part of the image's cache key.
enum InitScript {
    static let text = #"""
        #!/bin/busybox sh
        # husk test guest /init (Sources/VM/Image/InitScript.swift, docs/vm-guest.md)
        # Kernel command line: husk.scenario=virtio-blk|virtio-blk-uio|virtio-blk-bench|
        #   virtio-net|virtio-net-uio|virtio-net-tcp|virtio-net-wiring
        #   husk.nonce=<hex u64> husk.bytes=<disk bytes> (blk) [husk.accel=tcg|kvm]
        #   [husk.timeout=<seconds, default 900>] [husk.seconds=<per bench case, default 3>]
        # Console protocol: HUSK-CHECK <name> PASS|FAIL <detail>, BENCH ..., HUSK-LOG ...,
        # then HUSK-DONE <number of checks>, then power off.
        /bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin /usr/bin /usr/sbin
        /bin/busybox --install -s
        export PATH=/bin:/sbin:/usr/bin:/usr/sbin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        exec </dev/console >/dev/console 2>&1
        echo 1 > /proc/sys/kernel/printk 2>/dev/null     # kernel messages: errors only on the console

        CHECKS=/tmp/husk-checks
        : > $CHECKS
        SOCK=/tmp/blk.sock
        case "$(cat /proc/cmdline)" in
            *husk.scenario=virtio-net-tcp*) SOCK=/tmp/net.sock ;;
            *husk.scenario=virtio-net*) SOCK=/tmp/nic.sock ;;
        esac

        check() {  # check NAME PASS|FAIL DETAIL...
            n=$1; r=$2; shift 2
            echo "HUSK-CHECK $n $r $*"
            echo "$n $r" >> $CHECKS
        }
        WATCHDOG=
        finish() {
            [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
            echo "HUSK-LOG init: finished at uptime $(cut -d' ' -f1 /proc/uptime) s"
            echo "HUSK-DONE $(wc -l < $CHECKS)"
            sync
            poweroff -f
            sleep 5
            echo o > /proc/sysrq-trigger
            while true; do sleep 1000; done
        }
        fail_out() {  # the remaining steps cannot run: report and stop
            check "$1" FAIL "$2"
            finish
        }
        log() { echo "HUSK-LOG init: $*"; }

        SCENARIO=; NONCE=; BYTES=; ACCEL=tcg; TIMEOUT=900; BENCH_SECONDS=3
        for w in $(cat /proc/cmdline); do
            case "$w" in
                husk.scenario=*) SCENARIO=${w#*=} ;;
                husk.nonce=*) NONCE=${w#*=} ;;
                husk.bytes=*) BYTES=${w#*=} ;;
                husk.accel=*) ACCEL=${w#*=} ;;
                husk.timeout=*) TIMEOUT=${w#*=} ;;
                husk.seconds=*) BENCH_SECONDS=${w#*=} ;;
            esac
        done
        log "uptime $(cut -d' ' -f1 /proc/uptime) s, kernel $(uname -r), scenario '$SCENARIO', bytes $BYTES, nonce $NONCE, accel $ACCEL, $(nproc) cpus"

        # Never hang: the watchdog reports and powers off after husk.timeout seconds.
        ( sleep "$TIMEOUT"; check watchdog FAIL "scenario still running after $TIMEOUT s"; finish ) &
        WATCHDOG=$!

        case "$SCENARIO" in
            virtio-blk|virtio-blk-uio)
                [ -n "$NONCE" ] && [ -n "$BYTES" ] || fail_out arguments "husk.nonce and husk.bytes are required" ;;
            virtio-blk-bench|virtio-net|virtio-net-uio|virtio-net-tcp|virtio-net-wiring) ;;
            *) fail_out scenario "unknown or missing husk.scenario='$SCENARIO'" ;;
        esac

        load_group() {  # insmod the modules of /etc/husk/modules.GROUP in order
            bad=
            while read -r m; do
                [ -n "$m" ] || continue
                if ! out=$(insmod "/lib/modules/$m" 2>&1); then
                    case "$out" in *"File exists"*) ;; *) bad="$bad $m: $out;" ;; esac
                fi
            done < "/etc/husk/modules.$1"
            if [ -z "$bad" ]; then
                check "modules-$1" PASS "$(tr '\n' ' ' < /etc/husk/modules.$1)"
            else
                check "modules-$1" FAIL "$bad"
                return 1
            fi
        }

        find_device() {  # the virtio disk: vendor 0x1af4, device 0x1042 (modern virtio-blk)
            for d in /sys/bus/pci/devices/*; do
                if [ "$(cat $d/vendor)" = 0x1af4 ] && [ "$(cat $d/device)" = 0x1042 ]; then
                    BDF=${d##*/}
                    return 0
                fi
            done
            return 1
        }

        driver_of() {  # driver_of [BDF]: the driver bound to the device ($BDF by default)
            b=${1:-$BDF}
            if [ -e /sys/bus/pci/devices/$b/driver ]; then basename "$(readlink /sys/bus/pci/devices/$b/driver)"; else echo none; fi
        }

        bind_to() {  # bind_to DRIVER: driver_override + drivers_probe
            dev=/sys/bus/pci/devices/$BDF
            cur=$(driver_of)
            [ "$cur" = "$1" ] && return 0
            [ "$cur" = none ] || echo "$BDF" > $dev/driver/unbind
            echo "$1" > $dev/driver_override
            echo "$BDF" > /sys/bus/pci/drivers_probe
            [ "$(driver_of)" = "$1" ]
        }

        release_device() {  # unbind from whatever driver, clear driver_override
            dev=/sys/bus/pci/devices/$BDF
            [ "$(driver_of)" = none ] || echo "$BDF" > $dev/driver/unbind
            echo > $dev/driver_override
        }

        SRV=; LOGGER=
        start_server() {  # start_server blk|nic|net BACKEND [options]: husk blk|nic|net serve in the background
            kind=$1; backend=$2; shift 2
            rm -f $SOCK /tmp/server.log.fifo
            mkfifo /tmp/server.log.fifo
            : > /tmp/server.log
            ( while IFS= read -r l; do echo "HUSK-LOG server: $l"; echo "$l" >> /tmp/server.log; done < /tmp/server.log.fifo ) &
            LOGGER=$!
            husk $kind serve --backend "$backend" --device "$BDF" --socket $SOCK --no-drop-privileges "$@" > /tmp/server.log.fifo 2>&1 &
            SRV=$!
            i=0
            while [ ! -S $SOCK ]; do
                if ! kill -0 $SRV 2>/dev/null; then
                    wait $SRV; rc=$?; SRV=
                    wait $LOGGER  # the FIFO's writer is gone: the logger has every line
                    check server-start FAIL "husk $kind serve --backend $backend exited with status $rc before listening: $(tail -n 1 /tmp/server.log)"
                    return 1
                fi
                i=$((i + 1))
                if [ $i -gt 1200 ]; then
                    check server-start FAIL "no socket $SOCK after 120 s"
                    return 1
                fi
                sleep 0.1
            done
            check server-start PASS "husk $kind serve --backend $backend --device $BDF (pid $SRV)"
        }

        stop_server() {
            [ -n "$SRV" ] || return 0
            kill -TERM $SRV
            wait $SRV; rc=$?
            wait $LOGGER 2>/dev/null
            if [ $rc = 0 ]; then check server-stop PASS "exit status 0 after SIGTERM"; else check server-stop FAIL "exit status $rc after SIGTERM"; fi
            SRV=
        }

        switch_to_kernel() {  # hand the disk to the guest kernel's virtio_blk: /dev/vda
            release_device
            load_group virtio || return 1
            bind_to virtio-pci
            i=0
            while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
            if [ -b /dev/vda ]; then
                check kernel-disk PASS "/dev/vda on $(driver_of), $(cat /sys/block/vda/size) sectors"
            else
                check kernel-disk FAIL "no /dev/vda after binding $BDF to virtio-pci (driver: $(driver_of))"
                return 1
            fi
        }

        \#(InitScriptNet.functions)

        case "$SCENARIO" in
        virtio-net*)
            if find_nics; then
                check device-present PASS "NIC A $NIC_A (for husk), NIC B $NIC_B (for the kernel): 1af4:1041"
            else
                fail_out device-present "want two PCI devices 1af4:1041 (modern virtio-net), found $NICS_FOUND"
            fi
            BDF=$NIC_A
            ;;
        *)
            if find_device; then
                check device-present PASS "$BDF 1af4:1042, driver $(driver_of)"
            else
                fail_out device-present "no PCI device 1af4:1042 in /sys/bus/pci/devices (is the disk virtio-blk-pci with disable-legacy=on?)"
            fi
            ;;
        esac

        case "$SCENARIO" in
        virtio-blk|virtio-blk-bench|virtio-net|virtio-net-tcp)
            load_group vfio || finish
            if bind_to vfio-pci; then check bind-vfio-pci PASS "$BDF"; else fail_out bind-vfio-pci "$BDF is on $(driver_of)"; fi
            if [ -e /sys/bus/pci/devices/$BDF/iommu_group ]; then
                GROUP=$(basename "$(readlink /sys/bus/pci/devices/$BDF/iommu_group)")
            else
                GROUP=none
            fi
            if [ -c /dev/vfio/$GROUP ]; then check vfio-group PASS "/dev/vfio/$GROUP"; else fail_out vfio-group "no /dev/vfio/$GROUP (IOMMU off? intel_iommu=on and a vIOMMU)"; fi
            BACKEND=vfio
            ;;
        virtio-blk-uio|virtio-net-uio)
            load_group uio || finish
            if bind_to uio_pci_generic; then check bind-uio PASS "$BDF"; else fail_out bind-uio "$BDF is on $(driver_of)"; fi
            mkdir -p /dev/hugepages
            mount -t hugetlbfs none /dev/hugepages 2>/dev/null
            echo 16 > /proc/sys/vm/nr_hugepages
            HP=$(cat /proc/sys/vm/nr_hugepages)
            if [ "$HP" -ge 8 ]; then check hugepages PASS "$HP x 2 MiB"; else fail_out hugepages "only $HP huge pages"; fi
            UIO=$(ls /sys/bus/pci/devices/$BDF/uio 2>/dev/null | head -n 1)
            if [ -n "$UIO" ] && [ -c /dev/$UIO ]; then check uio-node PASS "/dev/$UIO"; else fail_out uio-node "no uio node for $BDF"; fi
            BACKEND="uio --hugepages 8"
            ;;
        esac

        case "$SCENARIO" in
        virtio-blk|virtio-blk-uio)
            start_server blk $BACKEND || finish
            husk vm guest check --socket $SOCK --bytes "$BYTES" --nonce "$NONCE" --checks-file $CHECKS
            stop_server
            switch_to_kernel || finish
            husk vm guest verify --file /dev/vda --bytes "$BYTES" --nonce "$NONCE" --second --name kernel-read-pattern2 --checks-file $CHECKS
            ;;
        virtio-blk-bench)
            start_server blk $BACKEND || finish
            husk vm guest bench --socket $SOCK --accel "$ACCEL" --seconds "$BENCH_SECONDS" --results /tmp/bench.husk --checks-file $CHECKS
            stop_server
            switch_to_kernel || finish
            husk vm guest bench --file /dev/vda --accel "$ACCEL" --seconds "$BENCH_SECONDS" --compare /tmp/bench.husk --checks-file $CHECKS
            ;;
        virtio-net|virtio-net-uio)
            # Only now the kernel's virtio_net: NIC A is bound already, so it takes NIC B alone.
            kernel_nic || finish
            start_server nic $BACKEND || finish
            net_probe
            net_server_counters
            stop_server
            ;;
        virtio-net-tcp)
            kernel_nic || finish
            # The stack (lwIP) over husk's virtio_net on NIC A, in one process.
            start_server net $BACKEND --address $NET_A_IP/24 || finish
            net_tcp
            stop_server
            ;;
        virtio-net-wiring)
            net_wiring
            ;;
        esac
        finish
        """#
}

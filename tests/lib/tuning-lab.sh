# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# The tuning labs (tests/integration/tuning-*.sh): a hypervisor in its own
# network namespace, so that its conntrack table, qdiscs, routes and
# sysctls are the lab's alone, with "VMs" and a "world" in namespaces of
# their own, joined to it by veth pairs (the host side plays the tap).
# Everything is named fp14-* and undone by tlab_cleanup (trap it).
#
#   fp14-vma (10.214.1.2) -- vnet-a |                 |
#   fp14-vmb (10.214.2.2) -- vnet-b | fp14-host       | up0 -- eth0 fp14-world (10.214.9.2)
#   fp14-vmc (10.214.3.2) -- vnet-c | (10.214.9.1)    |
#
# TLAB_MODE: routed (the default: the world routes 10.214.0.0/16 back),
# nat (masquerade on up0; the world knows only 10.214.9.0/24) or bridged
# (vnet-a, vnet-b and up0 in bridge br0 with br_netfilter: one L2,
# 10.214.8.0/24, world 10.214.8.100, VMs .1x).
#
# Needs: FP_BUILDDIR, FP_SRCDIR; sources lab.sh for its helpers.

# shellcheck source=lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"

TLAB_NS=(fp14-host fp14-vma fp14-vmb fp14-vmc fp14-world)
TLAB_DIR=
TLAB_DRIVE_PID=
TLAB_PIDS=()

H() { ip netns exec fp14-host "$@"; }

tlab_require() {
    [ "$(id -u)" = 0 ] || lab_skip "needs root (network namespaces, tc, BPF)"
    ip netns add fp14-probe 2>/dev/null || lab_skip "kernel without network namespaces"
    ip netns del fp14-probe
    command -v tc >/dev/null || lab_fail "tc missing (apt-get install iproute2)"
    command -v nft >/dev/null || lab_fail "nft missing (apt-get install nftables)"
    command -v conntrack >/dev/null || lab_fail "conntrack missing (apt-get install conntrack)"
    command -v iperf3 >/dev/null || lab_fail "iperf3 missing (apt-get install iperf3)"
    [ -x "$PY" ] || lab_fail "$PY missing"
}

tlab_cleanup() {
    set +e
    tlab_stop_drive KILL
    local p
    for p in "${TLAB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${TLAB_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    for p in "${TLAB_NS[@]}"; do
        ip netns pids "$p" 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del "$p" 2>/dev/null
    done
    [ -n "$TLAB_DIR" ] && [ -z "${LAB_KEEP:-}" ] && rm -rf "$TLAB_DIR"
    TLAB_DIR=
}

# tlab_setup: namespaces, veths, addresses, routes, conntrack, a private bus.
tlab_setup() {
    local mode=${TLAB_MODE:-routed} n i
    trap tlab_cleanup EXIT
    tlab_require
    # Nothing here is shared with the other labs (own namespaces, own
    # conntrack table, own bus), but two tuning labs would share the fp14-*
    # names: one at a time.
    exec 8>/run/footprintd-tuning-lab.lock
    flock -w 600 8 || { echo "another tuning lab holds /run/footprintd-tuning-lab.lock" >&2; exit 1; }
    TLAB_DIR=$(mktemp -d /tmp/fp14-lab.XXXXXX)
    LAB_DIR=$TLAB_DIR
    for n in "${TLAB_NS[@]}"; do
        ip netns del "$n" 2>/dev/null || true
        ip netns add "$n"
        ip -n "$n" link set lo up
    done
    for n in a b c; do
        ip -n fp14-host link add "vnet-$n" type veth peer name eth0 netns "fp14-vm$n"
        ip -n "fp14-vm$n" link set eth0 up
        ip -n fp14-host link set "vnet-$n" up
    done
    # The uplink: 4 queues, as a NIC has (its kernel default root is noqueue).
    ip -n fp14-host link add up0 numtxqueues 4 numrxqueues 4 type veth peer name eth0 \
        numtxqueues 4 numrxqueues 4 netns fp14-world
    ip -n fp14-host link set up0 up
    ip -n fp14-world link set eth0 up
    H sysctl -qw net.ipv4.ip_forward=1
    # Counters from the first flow on, even flows older than the tuner (the
    # namespace's own sysctl: nothing to restore).
    H sysctl -qw net.netfilter.nf_conntrack_acct=1
    if [ "$mode" = natbridge ]; then
        # libvirt's NAT network: the VMs on a bridge the host routes from
        # (br_netfilter on), masqueraded out of up0.
        H ip link add br0 type bridge
        for n in vnet-a vnet-b; do H ip link set "$n" master br0; done
        H ip link set br0 up
        H ip addr add 10.214.8.1/24 dev br0
        H sysctl -qw net.bridge.bridge-nf-call-iptables=1
        ip -n fp14-vma addr add 10.214.8.11/24 dev eth0
        ip -n fp14-vmb addr add 10.214.8.12/24 dev eth0
        for n in a b; do ip -n "fp14-vm$n" route add default via 10.214.8.1; done
        H ip addr add 10.214.9.1/24 dev up0
        H ip route add default via 10.214.9.2 dev up0
        ip -n fp14-world addr add 10.214.9.2/24 dev eth0
    elif [ "$mode" = bridged ]; then
        H ip link add br0 type bridge
        for n in vnet-a vnet-b up0; do H ip link set "$n" master br0; done
        H ip link set br0 up
        H ip addr add 10.214.8.1/24 dev br0
        H sysctl -qw net.bridge.bridge-nf-call-iptables=1
        ip -n fp14-vma addr add 10.214.8.11/24 dev eth0
        ip -n fp14-vmb addr add 10.214.8.12/24 dev eth0
        ip -n fp14-world addr add 10.214.8.100/24 dev eth0
    else
        i=0
        for n in a b c; do
            i=$((i + 1))
            H ip addr add "10.214.$i.1/24" dev "vnet-$n"
            ip -n "fp14-vm$n" addr add "10.214.$i.2/24" dev eth0
            ip -n "fp14-vm$n" route add default via "10.214.$i.1"
        done
        H ip addr add 10.214.9.1/24 dev up0
        H ip route add default via 10.214.9.2 dev up0
        ip -n fp14-world addr add 10.214.9.2/24 dev eth0
        [ "$mode" = routed ] && ip -n fp14-world route add 10.214.0.0/16 via 10.214.9.1
    fi
    # Conntrack in the host namespace: a rule that uses it, as any firewall has.
    H nft -f - <<'NFT'
table inet fp14_lab {
    chain forward { type filter hook forward priority 0; ct state new,established,related counter accept; }
    chain input { type filter hook input priority 0; ct state new,established,related counter accept; }
}
NFT
    if [ "$mode" = nat ] || [ "$mode" = natbridge ]; then
        H nft add table ip fp14_nat
        H nft add chain ip fp14_nat post '{ type nat hook postrouting priority 100; }'
        H nft add rule ip fp14_nat post oifname up0 masquerade
    fi
    # TLAB_BUS_POLICY: another policy file than footprintd's (to reach the
    # daemon's own checks past the bus's).
    lab_bus_conf "$TLAB_DIR/system_bus_socket" \
        "${TLAB_BUS_POLICY:-$FP_SRCDIR/conf/org.footprintd.Footprint1.conf}" >"$TLAB_DIR/bus.conf"
    dbus-daemon --config-file="$TLAB_DIR/bus.conf" --nofork --nopidfile >"$TLAB_DIR/bus.log" 2>&1 &
    TLAB_PIDS+=($!)
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TLAB_DIR/system_bus_socket"
    lab_wait_for 5 test -S "$TLAB_DIR/system_bus_socket" || lab_fail "private dbus-daemon did not start"
}

# tlab_world_ip: the world's address in this mode.
tlab_world_ip() { [ "${TLAB_MODE:-routed}" = bridged ] && echo 10.214.8.100 || echo 10.214.9.2; }

# tlab_vms_file [NAME:CLASS:TAP...]: the driver's VM list.
tlab_vms() {
    local v name class tap i=0
    : >"$TLAB_DIR/vms.conf"
    for v in "$@"; do
        IFS=: read -r name class tap <<<"$v"
        i=$((i + 1))
        printf '[vm %s]\nuuid=%08d-0000-4000-8000-0000000000%02d\nclass=%s\ninterfaces=%s\n\n' \
            "$name" "$i" "$i" "$class" "$tap" >>"$TLAB_DIR/vms.conf"
    done
}

# tlab_config LINES...: the driver's footprintd.conf ([tuning] lines after
# the lab's defaults; elephants at 4 MiB within 10 s, sweeps every 250 ms).
tlab_config() {
    {
        echo "[agent]"
        echo "state_dir=$TLAB_DIR/state"
        echo "runtime_dir=$TLAB_DIR/run"
        echo "sweep_interval_ms=${TLAB_SWEEP_MS:-250}"
        echo "[sense]"
        echo "elephant_bytes=${TLAB_ELEPHANT_BYTES:-4194304}"
        echo "[tuning]"
        printf '%s\n' "$@"
    } >"$TLAB_DIR/footprintd.conf"
}

# tlab_start_drive: the tuner driver in the host namespace; waits for it.
tlab_start_drive() {
    # Not through H(): $! must be the driver (ip netns exec execs it), not a
    # subshell, so that signals and wait reach it.
    ip netns exec fp14-host "$FP_BUILDDIR/tests/integration/fp-tuner-drive" \
        --config "$TLAB_DIR/footprintd.conf" --vms "$TLAB_DIR/vms.conf" >>"$TLAB_DIR/drive.log" 2>&1 &
    TLAB_DRIVE_PID=$!
    local i
    for i in $(seq 200); do
        grep -q '^ready' "$TLAB_DIR/drive.log" 2>/dev/null && fpctl tuning >/dev/null 2>&1 &&
            return 0
        kill -0 "$TLAB_DRIVE_PID" 2>/dev/null ||
            lab_fail "fp-tuner-drive exited: $(tail -5 "$TLAB_DIR/drive.log")"
        sleep 0.05
    done
    lab_fail "fp-tuner-drive did not start: $(tail -5 "$TLAB_DIR/drive.log")"
}

# tlab_stop_drive [SIGNAL]: TERM (the default: undoes) or KILL (a crash).
tlab_stop_drive() {
    [ -n "$TLAB_DRIVE_PID" ] || return 0
    kill "-${1:-TERM}" "$TLAB_DRIVE_PID" 2>/dev/null
    local rc=0
    wait "$TLAB_DRIVE_PID" 2>/dev/null || rc=$?
    TLAB_DRIVE_PID=
    return $rc
}

tlab_bg() { "$@" >>"$TLAB_DIR/bg.log" 2>&1 & TLAB_PIDS+=($!); }

# tlab_tc_state: the host namespace's qdiscs, classes and filters, every
# device, as tc -j prints them (statistics left out).
tlab_tc_state() {
    local dev
    for dev in $(H ls /sys/class/net | sort); do
        echo "== $dev"
        H tc -j qdisc show dev "$dev"
        H tc -j class show dev "$dev"
        H tc -j filter show dev "$dev"
        H tc -j filter show dev "$dev" ingress 2>/dev/null
        H tc -j filter show dev "$dev" egress 2>/dev/null
    done
}

# tlab_marks: "mark=N" of every conntrack entry of the host namespace,
# sorted (what footprintd could have touched).
tlab_marks() {
    { H conntrack -L -o extended 2>/dev/null || true; } | { grep -o 'mark=[0-9]*' || true; } |
        sort | uniq -c
}

# tlab_our_marks MASK: entries with any of footprintd's bits set.
tlab_our_marks() {
    local mask=$(($1)) m n=0
    for m in $({ H conntrack -L -o extended 2>/dev/null || true; } |
        { grep -o 'mark=[0-9]*' || true; } | cut -d= -f2); do
        (((m & mask) != 0)) && n=$((n + 1))
    done
    echo $n
}

# tlab_tuning FIELD: one field of footprintctl tuning --json.
tlab_tuning() {
    fpctl tuning --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# tlab_journal_size: entries in the driver's journal.
tlab_journal_size() {
    find "$TLAB_DIR/state/tuning" -name '*.entry' 2>/dev/null | wc -l
}

# tlab_class_stat DEV CLASSID bytes|pkt: what the class has sent (tc has
# no JSON for classes: its text).
tlab_class_stat() {
    H tc -s class show dev "$1" classid "$2" 2>/dev/null |
        awk -v what="$3" '$1 == "Sent" { print (what == "bytes" ? $2 : $4); found = 1 }
                          END { if (!found) print 0 }'
}
tlab_class_bytes() { tlab_class_stat "$1" "$2" bytes; }

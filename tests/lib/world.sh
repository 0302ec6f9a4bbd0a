# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# shellcheck disable=SC2153 # WORLD_* are set by the script that sources this
# A shared bottleneck beyond the host, for the contention benchmark and the
# demo: a network namespace ("the world") behind a host uplink veth, whose
# ingress goes through an IFB with an HTB class of a known rate and a FIFO
# leaf, as a switch port or a slower link would queue.  The FIFO is not on
# a host device, so footprintd cannot order it; it can only shape the
# uplink a little under the rate so that the queue forms on the host.
#
#   host: UP (UP_IP/24) ==veth== NS: eth0 (WORLD_IP/24) --ingress--> IFB: htb RATE, FIFO
#
# Needs lab.sh (lab_save_sysctl, lab_cleanup restores ip_forward).  Set
# WORLD_NS, WORLD_UP, WORLD_IFB, WORLD_IP, WORLD_UP_IP before use; undo with
# world_cleanup (also safe when nothing was set up).

# tuner_present EGRESS: the build has the tuner: footprintd accepts the
# [tuning] keys the benchmark and the demo use, and footprintctl has the
# `tuning` command.
tuner_present() {
    local conf rc=0
    conf=$(mktemp /tmp/fp-tuning.XXXXXX.conf)
    printf '[tuning]\nmode=observe\negress=%s\negress_rate_mbit=100\n' "$1" >"$conf"
    "$FP_BUILDDIR/src/footprintd" --check-config --config "$conf" >/dev/null 2>&1 || rc=1
    rm -f "$conf"
    [ "$rc" = 0 ] && "$FP_BUILDDIR/src/footprintctl" --help 2>&1 | grep -qE '^ +tuning( |$)'
}

# world_setup: the namespace, the veth pair, routes, the IFB on the
# world's ingress (no bottleneck yet: world_bottleneck).
world_setup() {
    world_cleanup
    ip netns add "$WORLD_NS"
    ip link add "$WORLD_UP" type veth peer name eth0 netns "$WORLD_NS"
    ip addr add "$WORLD_UP_IP/24" dev "$WORLD_UP"
    ip link set "$WORLD_UP" up
    ip -n "$WORLD_NS" addr add "$WORLD_IP/24" dev eth0
    ip -n "$WORLD_NS" link set lo up
    ip -n "$WORLD_NS" link set eth0 up
    ip -n "$WORLD_NS" route add default via "$WORLD_UP_IP"
    # An ingress qdisc cannot queue: the world's ingress is redirected to
    # an IFB, whose egress qdisc is the bottleneck.  (No matchall in some
    # kernels: u32 matching everything.)
    ip -n "$WORLD_NS" link add "$WORLD_IFB" type ifb
    ip -n "$WORLD_NS" link set "$WORLD_IFB" up
    tc -n "$WORLD_NS" qdisc add dev eth0 handle ffff: ingress
    tc -n "$WORLD_NS" filter add dev eth0 parent ffff: protocol all prio 1 u32 match u32 0 0 \
        action mirred egress redirect dev "$WORLD_IFB"
    lab_save_sysctl net.ipv4.ip_forward 1
}

# world_bottleneck RATE-MBIT [FIFO...]: the far queue: HTB at RATE with a
# FIFO leaf (default "pfifo limit 1000", the leaf an HTB class gets on a
# device with txqueuelen 1000).
world_bottleneck() {
    local rate=$1
    shift
    [ $# -gt 0 ] || set -- pfifo limit 1000
    tc -n "$WORLD_NS" qdisc del dev "$WORLD_IFB" root 2>/dev/null || true
    tc -n "$WORLD_NS" qdisc add dev "$WORLD_IFB" root handle 1: htb default 1 &&
        tc -n "$WORLD_NS" class add dev "$WORLD_IFB" parent 1: classid 1:1 \
            htb rate "${rate}mbit" ceil "${rate}mbit" quantum 3028 &&
        tc -n "$WORLD_NS" qdisc add dev "$WORLD_IFB" parent 1:1 handle 10: "$@"
}

# world_cleanup: the world's processes, the uplink (its qdiscs go with it),
# the namespace (the IFB goes with it), conntrack entries of its address.
world_cleanup() {
    local -
    set +e
    [ -n "${WORLD_NS:-}" ] || return 0
    ip netns pids "$WORLD_NS" 2>/dev/null | xargs -r kill 2>/dev/null
    tc qdisc del dev "$WORLD_UP" root 2>/dev/null
    ip link del "$WORLD_UP" 2>/dev/null
    ip netns del "$WORLD_NS" 2>/dev/null
    conntrack -D -s "$WORLD_IP" >/dev/null 2>&1
    conntrack -D -d "$WORLD_IP" >/dev/null 2>&1
    return 0
}

# world_rtts FILE: "p50 p99 max loss" (ms, ms, ms, %) of an iputils ping's
# output.
world_rtts() {
    local loss
    loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1%/p' "$1")
    sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$1" | sort -n | awk -v loss="${loss:--}" '
        { v[++n] = $1 }
        END {
            if (n == 0) { print "- - -", loss; exit }
            i50 = int(n * 0.50 + 0.5); if (i50 < 1) i50 = 1
            i99 = int(n * 0.99 + 0.5); if (i99 < 1) i99 = 1
            printf "%.2f %.2f %.2f %s\n", v[i50], v[i99], v[n], loss
        }'
}

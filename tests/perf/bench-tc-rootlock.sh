#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What footprintd's egress tree costs on a multi-queue device.
#
# The tree (tuning/planner.h) is one HTB root qdisc: on a device with N TX
# queues it replaces mq's N per-queue qdiscs, so every queue's packets go
# through one qdisc and its one root lock.  That is what lets one shaper
# order and bound the whole device (mq cannot: each queue would be shaped
# on its own), and its cost is contention on that lock when several CPUs
# send at once.  This measures it, A/B in the same run, alternating:
#
#   mq       mq with the kernel's default pfifo_fast per queue (a NIC's default)
#   noqueue  a veth's own default (no qdisc, no lock at all), for reference
#   fd00     footprintd's tree as tuning/tc.c builds it (HTB fd00:, normal
#            and demoted bands, 16 slot leaves, the cls_bpf classifier of
#            bpf/fp_tc.bpf.o in direct-action mode) at a rate that does not
#            bind (BENCH_RATE, default 100gbit): only the lock and the
#            classifier cost
#
# on a 4-queue veth between two namespaces (fp14-rl-*), BENCH_STREAMS TCP
# streams (default 4) for BENCH_SECONDS each (default 5), BENCH_ROUNDS
# rounds (default 3), conntrack on in the sender (the classifier reads its
# mark).  Prints the median Gbit/s of each and the ratios.
#
#   sudo FP_SRCDIR=. FP_BUILDDIR=. tests/perf/bench-tc-rootlock.sh
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_EACH=${BENCH_SECONDS:-5}
STREAMS=${BENCH_STREAMS:-4}
RATE=${BENCH_RATE:-100gbit}
OBJ=$FP_BUILDDIR/bpf/fp_tc.bpf.o
S=fp14-rl-src
D=fp14-rl-dst

cleanup() {
    set +e
    ip netns pids $D 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns del $S 2>/dev/null
    ip netns del $D 2>/dev/null
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root" >&2; exit 77; }
[ -f "$OBJ" ] || { echo "build first: $OBJ missing" >&2; exit 2; }
cleanup
ip netns add $S
ip netns add $D
ip -n $S link add rl0 numtxqueues 4 numrxqueues 4 type veth peer name rl1 \
    numtxqueues 4 numrxqueues 4 netns $D
ip -n $S addr add 10.214.77.1/24 dev rl0
ip -n $D addr add 10.214.77.2/24 dev rl1
ip -n $S link set rl0 up
ip -n $D link set rl1 up
ip -n $S link set lo up
ip -n $D link set lo up
ip netns exec $S nft add table inet fp14_rl
ip netns exec $S nft add chain inet fp14_rl out '{ type filter hook output priority 0; }'
ip netns exec $S nft add rule inet fp14_rl out ct state new,established counter accept
ip netns exec $D iperf3 -s -D -p 5299 >/dev/null

tc_() { ip netns exec $S tc "$@"; }
setup_mq() { tc_ qdisc replace dev rl0 root handle 1: mq; }
setup_noqueue() { tc_ qdisc del dev rl0 root 2>/dev/null || true; }
# The tree of tuning/tc.c (fp_tc_apply), with tc: same handles, bands,
# buckets, quanta and classifier.
setup_fd00() {
    local s
    tc_ qdisc replace dev rl0 root handle fd00: htb default 10
    tc_ class add dev rl0 parent fd00: classid fd00:1 htb rate "$RATE" ceil "$RATE" quantum 65536
    tc_ class add dev rl0 parent fd00:1 classid fd00:10 htb rate "$RATE" ceil "$RATE" prio 0 quantum 65536
    tc_ class add dev rl0 parent fd00:1 classid fd00:20 htb rate 1gbit ceil "$RATE" prio 1 quantum 65536
    for s in $(seq 1 16); do
        tc_ class add dev rl0 parent fd00:20 classid "fd00:$(printf %x $((0x100 + s)))" \
            htb rate 100mbit ceil "$RATE" prio 1 quantum 65536
    done
    tc_ filter add dev rl0 parent fd00: protocol all prio 1 handle 1 bpf da obj "$OBJ" sec tc \
        classid fd00:
}

run() { # -> Gbit/s
    ip netns exec $S iperf3 -c 10.214.77.2 -p 5299 -P "$STREAMS" -t "$SECONDS_EACH" -J |
        python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}

declare -A R
for r in $(seq "$ROUNDS"); do
    for c in mq noqueue fd00; do
        setup_noqueue
        "setup_$c"
        R[$c]+="$(run) "
        echo "# round $r $c: $(echo "${R[$c]}" | awk '{print $NF}') Gbit/s" >&2
    done
done
setup_noqueue
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mq=$(echo "${R[mq]}" | median)
nq=$(echo "${R[noqueue]}" | median)
fd=$(echo "${R[fd00]}" | median)
echo "4-queue veth, $STREAMS streams, median of $ROUNDS x ${SECONDS_EACH}s: mq $mq, noqueue $nq, footprintd fd00: $fd Gbit/s"
python3 -c 'import sys; mq, nq, fd = map(float, sys.argv[1:]); print("ratio fd00/mq %.2f, fd00/noqueue %.2f" % (fd / mq, fd / nq))' "$mq" "$nq" "$fd"

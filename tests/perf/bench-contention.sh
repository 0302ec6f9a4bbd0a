#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Efficacy of the tuner (not a timed test; prints ratios measured in one
# run): does demoting an elephant flow at the host's shared egress keep a
# latency VM's round trips short when both VMs share a bottleneck?
#
#   fpc-lat (ping every 50 ms) --tap--+                         netns fpcworld
#   fpc-ele (iperf3 sender)   --tap--+-- host -- fpc-up ==veth== eth0 (10.217.0.2)
#   fpc-ens (the same, no TSO)--tap--+   (footprintd's        ingress -> mirred -> fpc-ifb:
#                                        [tuning] egress)     HTB RATE Mbit/s, FIFO leaf
#
# The bottleneck (an HTB class of RATE Mbit/s with a FIFO leaf, on an IFB
# fed by the world's ingress) is *not* on a device footprintd manages, as a
# switch port or the NIC's own ring is not: footprintd manages the host's
# side of the uplink, shaped a little under RATE ([tuning] egress_rate_mbit
# = BENCH_SHAPE_PCT % of it) so that the queue forms where it can be
# ordered.  Two real libvirt TCG guests (tests/lab/vmlab.sh): fpc-lat pings
# the world every 50 ms and prints each round trip on its console; fpc-ele
# is an iperf3 server the world runs `iperf3 -R` against, so the guest sends
# one bulk TCP stream to the world, started and stopped by the benchmark.
#
# Conditions, alternated (rotated) within one run, BENCH_REPEAT times each,
# at each rate of BENCH_RATES:
#   alone     the latency VM alone (agent in observe)
#   observe   + the elephant, the agent in observe: one FIFO, no ordering
#   local     + the elephant, but its stream goes to the host itself, not
#             through the uplink: the same CPU load (two TCG guests, a
#             receiving iperf3) without the shared queue, the floor that
#             ordering the queue can reach on this machine
#   enforce   + the elephant, the agent in enforce (needs the tuner: a
#             build whose footprintd takes [tuning] and whose footprintctl
#             has `tuning`; otherwise "enforce: skipped"): both levers,
#             queue priority at the egress and CPU separation (issue 15:
#             the elephant's qemu emulator/I/O threads and its tap's
#             RPS/XPS on CPU 1, the latency guest's threads on CPU 0)
#   enforce-egress  the same with [tuning] cpu_separation = false: queue
#             priority alone (the lever of issue 14), to tell the levers'
#             shares apart
#   enforce-split  enforce with [tuning] split_gso = true: the demoted
#             band's GSO packets segmented as they queue (BENCH_SPLIT=1)
#   manual    + the elephant, the agent in observe, and the structure the
#             tuner is meant to build set up by hand with tc: HTB root on
#             the uplink at BENCH_SHAPE_PCT %, a high class for everything,
#             a low class for the elephant guests' source addresses (u32).
#             The reference that checks the harness and the expected effect;
#             on by default without the tuner, BENCH_MANUAL=1 with it.
# BENCH_GSO=1 adds three variants of `manual` that test whether the
# residual is the elephant's GSO packets draining through the far FIFO:
#   manual-gsooff  GSO and TSO off on the uplink veth (ethtool -K): the
#                  host segments after its qdisc, as before a NIC
#   manual-seg     the low class's leaf is a TBF whose burst is one MTU and
#                  whose rate is far above the link's: it segments a GSO
#                  packet when it is enqueued (tbf_segment), so the low
#                  class releases MTU-sized packets
#   manual-notso   the elephant is fpc-ens, a guest whose NIC offers no TSO
#                  (<driver><host tso4='off' tso6='off'/>): no GSO packet
#                  exists anywhere on the path
#
# Printed per rate: p50/p99 of the round trips per condition (pooled over
# the repeats, each run's p99 beside), ping loss, the same for the host's
# own probe (50 ms pings from the host through the same uplink: no guest
# CPU in its round trip), the elephant's throughput
# (iperf3's intervals after the warm-up) ÷ the bottleneck, the mean size
# of the uplink's packets (a GSO packet counts as one: the unit the far
# FIFO receives), the ratios p99(enforce) ÷ p99(alone) and ÷ p99(observe)
# against the targets (issue 14: <= 0.1 at 200 Mbit/s, <= 0.25 at 1 Gbit/s;
# the elephant >= 90 % of the bottleneck; demotion <= 2 s), and the time
# from the elephant's start to its demotion.  Each condition's first
# BENCH_WARMUP seconds (slow start, demotion) are left out of the RTTs.
#
# Usage (root, built tree; installs its packages like the VM lab and takes
# the labs' lock, /run/footprintd-lab.lock; ~10 min with the defaults):
#   tests/perf/bench-contention.sh
#   BENCH_GSO=1 BENCH_RATES=200 tests/perf/bench-contention.sh
# Knobs: BENCH_RATES ("200 1000" Mbit/s), BENCH_REPEAT (3), BENCH_SECONDS
# (10 measured per condition), BENCH_WARMUP (3), BENCH_SHAPE_PCT (95),
# BENCH_FIFO ("pfifo limit 1000": the bottleneck's leaf, the default FIFO
# of an HTB class on a device with txqueuelen 1000), BENCH_MANUAL, BENCH_GSO
# (0), BENCH_PIN (0; 1 = latency guest's qemu on CPU 0, the elephants' on
# CPU 1, by hand with virsh), BENCH_CLASSES (pin: the guests' classes are
# set with the operator's pin element, latency and throughput, so that the
# CPU lever does not wait for the learner; learn: not pinned),
# BENCH_ELEPHANT_VCPUS (1: [tuning] elephant_vcpus, the elephant's vCPU
# threads go to the elephant CPU too: under TCG they do the guest's packet
# work), BENCH_ELEPHANT_MEM (256 MiB: sizes the elephant's TCP send
# buffer, see below), BENCH_CONDITIONS (a subset, e.g. "alone manual").
# Everything is undone on exit, also on failure or CTRL-C: guests,
# libvirtd, the netns with its IFB, the qdiscs, nftables tables, sysctls.
set -euo pipefail
FP_SRCDIR=${FP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FP_BUILDDIR=${FP_BUILDDIR:-$FP_SRCDIR}
export FP_SRCDIR FP_BUILDDIR
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/vmlab.sh
. "$FP_SRCDIR/tests/lab/vmlab.sh"
# shellcheck source=../lib/world.sh
. "$FP_SRCDIR/tests/lib/world.sh"

RATES=${BENCH_RATES:-200 1000}
REPEAT=${BENCH_REPEAT:-3}
SECS=${BENCH_SECONDS:-10}
WARM=${BENCH_WARMUP:-3}
PCT=${BENCH_SHAPE_PCT:-95}
FIFO=${BENCH_FIFO:-pfifo limit 1000}
GSO=${BENCH_GSO:-0}
PIN=${BENCH_PIN:-0}
CLASSES=${BENCH_CLASSES:-pin}
ELE_VCPUS=${BENCH_ELEPHANT_VCPUS:-1}
ELE_MEM=${BENCH_ELEPHANT_MEM:-256}

WORLD_NS=fpcworld WORLD_UP=fpc-up WORLD_IFB=fpc-ifb WORLD_IP=10.217.0.2 WORLD_UP_IP=10.217.0.1
UP=$WORLD_UP W=$WORLD_NS
LAT=fpc-lat LAT_IP=10.217.1.2 LAT_HOST=10.217.1.1 LAT_TAP=fpc-lat0
ELE=fpc-ele ELE_IP=10.217.2.2 ELE_HOST=10.217.2.1 ELE_TAP=fpc-ele0
ENS=fpc-ens ENS_IP=10.217.3.2 ENS_HOST=10.217.3.1 ENS_TAP=fpc-ens0
IPERF_PORT=5201

bench_log() { printf '# [%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# ---- the tuner: present or not (tests/lib/world.sh, as the demo) ----
TUNER=0
if tuner_present "$UP"; then TUNER=1; fi
MANUAL=${BENCH_MANUAL:-$((1 - TUNER))}

CONDS=(alone observe local)
[ "$TUNER" = 1 ] && CONDS+=(enforce enforce-egress)
[ "$TUNER" = 1 ] && [ "${BENCH_SPLIT:-0}" = 1 ] && CONDS+=(enforce-split)
[ "$MANUAL" = 1 ] && CONDS+=(manual)
[ "$GSO" = 1 ] && CONDS+=(manual-gsooff manual-seg manual-notso)
if [ -n "${BENCH_CONDITIONS:-}" ]; then
    read -r -a CONDS <<<"$BENCH_CONDITIONS"
fi
for c in "${CONDS[@]}"; do
    case $c in
    alone | observe | local | manual | manual-gsooff | manual-seg | manual-notso) ;;
    enforce | enforce-egress | enforce-split) [ "$TUNER" = 1 ] || lab_fail "BENCH_CONDITIONS: $c needs the tuner" ;;
    *) lab_fail "unknown condition '$c'" ;;
    esac
done
NEED_ENS=0
[[ " ${CONDS[*]} " == *" manual-notso "* ]] && NEED_ENS=1

# ---- clean-up: ours first, then the agent, the guests and the lab ----
bench_cleanup() {
    set +e
    [ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null
    [ -n "${IPERF_PID:-}" ] && kill "$IPERF_PID" 2>/dev/null
    world_cleanup
    conntrack -D -s 10.217.0.0/16 >/dev/null 2>&1
    conntrack -D -d 10.217.0.0/16 >/dev/null 2>&1
}
LAB_EXIT_HOOK=bench_cleanup
lab_vm_traps

# ---- the hand-made reference structure on the host's uplink ----
# manual_on EGRESS-MBIT [seg]: HTB root at EGRESS; 1:10 (prio 0, 90 % of
# it guaranteed) for everything, 1:20 (prio 1, 10 %) for the elephants,
# both may borrow up to EGRESS.  A leaf under its rate is served before a
# borrowing one, and among leaves under their rate prio 0 first: the
# latency VM's packets (far under 90 %) always go first.  seg: the low
# leaf is a TBF that segments GSO packets on enqueue (burst = one MTU, rate
# 100 x the egress so that it never shapes).
manual_on() {
    local e=$1 ip
    tc qdisc replace dev "$UP" root handle 1: htb default 10
    tc class add dev "$UP" parent 1: classid 1:1 htb rate "${e}mbit" ceil "${e}mbit" quantum 3028
    tc class add dev "$UP" parent 1:1 classid 1:10 htb rate "$((e * 9 / 10))mbit" ceil "${e}mbit" prio 0 quantum 3028
    tc class add dev "$UP" parent 1:1 classid 1:20 htb rate "$((e / 10))mbit" ceil "${e}mbit" prio 1 quantum 3028
    for ip in "$ELE_IP" "$ENS_IP"; do
        tc filter add dev "$UP" parent 1: protocol ip prio 1 u32 match ip src "$ip/32" flowid 1:20
    done
    if [ "${2:-}" = seg ]; then
        tc qdisc add dev "$UP" parent 1:20 handle 20: tbf rate "$((e * 100))mbit" burst 1600 limit 3000000
    fi
}
manual_off() { tc qdisc del dev "$UP" root 2>/dev/null || true; }
# The uplink's root qdisc kind (noqueue when nobody configured it).
uplink_root() { tc qdisc show dev "$UP" root | awk 'NR == 1 { print $2 }'; }

# ---- the agent ----
AGENT_MODE=
agent_mode() { # observe|enforce EGRESS-MBIT [cpu|nocpu [split]]: (re)start the agent in that mode
    local mode=$1 e=$2 cpu=${3:-cpu} split=${4:-}
    [ "$AGENT_MODE" = "$mode/$e/$cpu/$split" ] && return 0
    lab_stop_agent || true
    local tuning=()
    if [ "$TUNER" = 1 ]; then
        tuning=("[tuning]" "mode=$mode" "egress=$UP" "egress_rate_mbit=$e")
        if tuner_has_cpu_lever; then
            tuning+=("cpu_separation=$([ "$cpu" = cpu ] && echo true || echo false)")
            [ "$ELE_VCPUS" = 1 ] && tuning+=("elephant_vcpus=true")
        fi
        [ "$split" = split ] && tuning+=("split_gso=true")
    fi
    lab_start_agent "[libvirt]" "uri=qemu:///system" "${tuning[@]}"
    AGENT_MODE=$mode/$e/$cpu/$split
}
# The CPU lever (issue 15) is in this build: footprintd knows [tuning]
# cpu_separation.
tuner_has_cpu_lever() {
    printf '[tuning]\ncpu_separation=true\n' >"$LAB_DIR/cpu-probe.conf"
    "$FP_BUILDDIR/src/footprintd" --check-config --config "$LAB_DIR/cpu-probe.conf" >/dev/null 2>&1
}

# ---- demotion: when did the elephant's flow get demoted ----
# Two witnesses, polled every 100 ms from the elephant's start: the first
# time `footprintctl tuning --json` lists an applied action naming the
# elephant (its VM name or address), and the first time the elephant's
# conntrack entry carries a non-zero mark.  Writes "ctl MS" / "mark MS"
# lines (ms after the start) to FILE.
watch_demotion() { # FILE T0-MS VM IP LIMIT-S
    local f=$1 t0=$2 vm=$3 ip=$4 end=$(($2 + $5 * 1000)) now got_ctl=0 got_mark=0 got_cpu=0
    [ "$CPU_WATCH" = 1 ] || got_cpu=1
    while now=$(vmlab_now_ms) && ((now < end)) && ((got_ctl == 0 || got_mark == 0 || got_cpu == 0)); do
        if ((got_ctl == 0)) && fpctl tuning --json 2>/dev/null |
            "$PY" "$FP_SRCDIR/tests/perf/bench-contention.py" demoted "$vm" "$ip"; then
            echo "ctl $((now - t0))" >>"$f"
            got_ctl=1
        fi
        if ((got_mark == 0)) && conntrack -L -p tcp -s "$WORLD_IP" -d "$ip" 2>/dev/null |
            grep -E "dport=$IPERF_PORT .*mark=[1-9]" >/dev/null; then
            echo "mark $((now - t0))" >>"$f"
            got_mark=1
        fi
        if ((got_cpu == 0)) && fpctl tuning --json 2>/dev/null |
            "$PY" "$FP_SRCDIR/tests/perf/bench-contention.py" cpu "$vm" >/dev/null; then
            echo "cpu $((now - t0))" >>"$f"
            got_cpu=1
        fi
        sleep 0.1
    done
}
# watch_cpu_undo FILE VM LIMIT-S: after the elephant ended, how long until
# no thread or queue mask of VM is moved any more ("cpuundo MS").
watch_cpu_undo() {
    local f=$1 vm=$2 t0 now
    t0=$(vmlab_now_ms)
    while now=$(vmlab_now_ms) && ((now < t0 + $3 * 1000)); do
        if ! fpctl tuning --json 2>/dev/null |
            "$PY" "$FP_SRCDIR/tests/perf/bench-contention.py" cpu "$vm" >/dev/null; then
            echo "cpuundo $((now - t0))" >>"$f"
            return 0
        fi
        sleep 0.2
    done
    echo "cpuundo never" >>"$f"
}

console_size() { stat -c %s "$VMLAB_WORKDIR/$LAT.console.log"; }
# The uplink's transmit counters: a veth counts a GSO packet as one, so
# bytes per packet is the mean size of what the far FIFO receives as one
# unit (the elephant's GSO packets, when they go through whole).
uplink_tx() { echo "$(<"/sys/class/net/$UP/statistics/tx_bytes"),$(<"/sys/class/net/$UP/statistics/tx_packets")"; }

# run_condition COND RATE REP: one measured run; appends a line to runs.
run_condition() {
    local cond=$1 rate=$2 rep=$3 e ele='' vm='' tag o0 o1 t0 w0 w1 x0 x1
    e=$((rate * PCT / 100))
    tag=$cond-$rate-$rep
    case $cond in
    alone) ;;
    manual-notso) ele=$ENS_IP vm=$ENS ;;
    *) ele=$ELE_IP vm=$ELE ;;
    esac
    case $cond in
    enforce) agent_mode enforce "$e" cpu ;;
    enforce-egress) agent_mode enforce "$e" nocpu ;;
    enforce-split) agent_mode enforce "$e" cpu split ;;
    *) agent_mode observe "$e" ;;
    esac
    CPU_WATCH=0
    [ "$cond" = enforce ] && tuner_has_cpu_lever && CPU_WATCH=1
    if [[ $cond != enforce* ]] && [ "$(uplink_root)" != noqueue ]; then
        bench_log "WARNING: $UP has a '$(uplink_root)' root qdisc before '$cond' (left by the agent?): $(tc qdisc show dev "$UP" | tr '\n' ';')"
        manual_off
    fi
    case $cond in
    manual) manual_on "$e" ;;
    manual-seg) manual_on "$e" seg ;;
    manual-notso) manual_on "$e" ;;
    manual-gsooff)
        manual_on "$e"
        ethtool -K "$UP" gso off tso off >/dev/null
        ;;
    esac
    t0=$(vmlab_now_ms)
    if [ -n "$ele" ]; then
        local peer=(ip netns exec "$W")
        [ "$cond" = local ] && peer=()
        "${peer[@]}" iperf3 -c "$ele" -p "$IPERF_PORT" -R -t $((WARM + SECS + 1)) -J \
            >"$LAB_DIR/iperf-$tag.json" 2>&1 &
        IPERF_PID=$!
        if [[ $cond == enforce* ]]; then
            watch_demotion "$LAB_DIR/demotion-$tag" "$t0" "$vm" "$ele" $((WARM + SECS)) &
            WATCH_PID=$!
        fi
    fi
    sleep "$WARM"
    o0=$(console_size) w0=$(vmlab_now_ms) x0=$(uplink_tx)
    sleep "$SECS"
    o1=$(console_size) w1=$(vmlab_now_ms) x1=$(uplink_tx)
    if [ "$cond" = enforce ]; then
        # What the agent did, for the record (the last run's is printed).
        { fpctl tuning 2>&1 || true; echo "-- tc on $UP:"; tc -s class show dev "$UP"; tc filter show dev "$UP"; } \
            >"$LAB_DIR/tuning-enforce.txt" 2>&1
    fi
    if [ -n "$ele" ]; then
        wait "$IPERF_PID" || bench_log "WARNING: iperf3 of $tag failed: $(tail -c 300 "$LAB_DIR/iperf-$tag.json")"
        IPERF_PID=
    fi
    [ "$CPU_WATCH" = 1 ] && watch_cpu_undo "$LAB_DIR/demotion-$tag" "$vm" 30
    if [ -n "${WATCH_PID:-}" ]; then
        kill "$WATCH_PID" 2>/dev/null || true
        wait "$WATCH_PID" 2>/dev/null || true
        WATCH_PID=
    fi
    if [[ $cond == manual* ]]; then
        tc -s class show dev "$UP" >"$LAB_DIR/tc-$tag" 2>&1 || true
        tc -s qdisc show dev "$UP" >>"$LAB_DIR/tc-$tag" 2>&1 || true
    fi
    [ "$cond" = manual-gsooff ] && ethtool -K "$UP" gso on tso on >/dev/null
    [[ $cond == manual* ]] && manual_off
    echo "$cond $rate $rep $o0 $o1 $tag $w0 $w1 $x0 $x1" >>"$LAB_DIR/runs"
    bench_log "$tag done"
    sleep 1 # the far FIFO drains
}

# ---- setup ----
VMLAB_PACKAGES+=(ethtool iputils-ping)
lab_vm_setup "the benchmark needs"
world_setup
# The host's uplink: software GSO and TSO on (a veth's default), as a NIC
# with TSO has them; manual-gsooff turns them off.
bench_log "tuner in this build: $([ "$TUNER" = 1 ] && echo yes || echo no); conditions: ${CONDS[*]}"
agent_mode observe $(($(echo "$RATES" | awk '{ print $1 }') * PCT / 100))
export VMLAB_TARGET=$WORLD_IP VMLAB_ROUTE=10.217.0.0/24
vmlab_define_guest "$LAT" ping "$LAT_IP" "$LAT_HOST" "$LAT_TAP" || lab_fail "latency guest"
# The elephants' RAM sizes their TCP send buffer (tcp_wmem's maximum is
# about RAM / 128): with 96 MiB the stream keeps ~0.7 MB in flight, with
# 256 MiB ~2 MB, which is what fills the far FIFO to the 70 ms at 200
# Mbit/s measured in issue 14 (a VM with GBs of RAM: 4 MB).
VMLAB_GUEST_MEM=$ELE_MEM vmlab_define_guest "$ELE" "server:$IPERF_PORT" "$ELE_IP" "$ELE_HOST" "$ELE_TAP" ||
    lab_fail "elephant guest"
if [ "$NEED_ENS" = 1 ]; then
    VMLAB_GUEST_MEM=$ELE_MEM VMLAB_NIC_HOST="tso4='off' tso6='off'" vmlab_define_guest "$ENS" "server:$IPERF_PORT" \
        "$ENS_IP" "$ENS_HOST" "$ENS_TAP" || lab_fail "no-TSO elephant guest"
fi
if [ "$CLASSES" = pin ]; then
    # The operator's pin element (footprint-pin/1.0): the classes from the
    # first sweep, whatever the learner has seen yet.
    for g in "$LAT:latency" "$ELE:throughput" "$ENS:throughput"; do
        [ "${g%%:*}" = "$ENS" ] && [ "$NEED_ENS" != 1 ] && continue
        virsh metadata "${g%%:*}" --uri http://footprintd.org/xmlns/footprint-pin/1.0 --key pin \
            --live --set "<pin class=\"${g#*:}\"/>" >/dev/null || lab_fail "cannot pin ${g%%:*}'s class"
    done
fi
if [ "$PIN" = 1 ]; then
    pin() { # VM CPU
        local v
        virsh emulatorpin "$1" "$2" --live >/dev/null
        for v in $(seq 0 $(($(virsh vcpucount "$1" --active --live) - 1))); do
            virsh vcpupin "$1" "$v" "$2" --live >/dev/null
        done
    }
    pin "$LAT" 0
    pin "$ELE" 1
    [ "$NEED_ENS" = 1 ] && pin "$ENS" 1
fi
lab_wait_for 20 ip netns exec "$W" iperf3 -c "$ELE_IP" -p "$IPERF_PORT" -t 1 >/dev/null 2>&1 ||
    lab_fail "the world cannot reach the elephant's iperf3 server"
grep -a 'seq=' "$VMLAB_WORKDIR/$LAT.console.log" >/dev/null ||
    lab_fail "the latency guest's pings get no answer: $(tail -n 5 "$VMLAB_WORKDIR/$LAT.console.log")"
: >"$LAB_DIR/runs"
# The host's own probe, beside the latency guest's: the same 50 ms pings
# through the same uplink (its default class) and far FIFO, without a TCG
# guest's scheduling in the round trip.  Where the guest's figure grows and
# the host's does not, the time went to CPU, not to a queue.
ping -n -D -i 0.05 "$WORLD_IP" >"$LAB_DIR/hostping.log" 2>&1 &
LAB_PIDS+=($!)

# ---- the runs: conditions rotated from one repetition to the next ----
for rate in $RATES; do
    # shellcheck disable=SC2086 # FIFO is a qdisc with its parameters
    world_bottleneck "$rate" $FIFO || lab_fail "cannot set up the $rate Mbit/s bottleneck"
    bench_log "bottleneck $rate Mbit/s: $(tc -n "$W" qdisc show dev "$WORLD_IFB" | tr '\n' ';')"
    for rep in $(seq "$REPEAT"); do
        n=${#CONDS[@]}
        for ((i = 0; i < n; i++)); do
            run_condition "${CONDS[$(((i + rep - 1) % n))]}" "$rate" "$rep"
        done
    done
done
lab_stop_agent || true
AGENT_MODE=

echo "== bench-contention: $(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
    "guests TCG, ping every 50 ms, $REPEAT x ${SECS} s per condition after ${WARM} s warm-up," \
    "host shaping at ${PCT} %, bottleneck leaf '$FIFO'${BENCH_PIN:+, BENCH_PIN=$PIN}," \
    "classes $CLASSES, elephant_vcpus $ELE_VCPUS"
if [ -s "$LAB_DIR/tuning-enforce.txt" ]; then
    echo "-- footprintctl tuning during the last enforce run:"
    head -n 40 "$LAB_DIR/tuning-enforce.txt" | sed 's/^/   /'
fi
"$PY" "$FP_SRCDIR/tests/perf/bench-contention.py" report "$LAB_DIR" "$VMLAB_WORKDIR/$LAT.console.log" \
    "$WARM" "$TUNER" "${CONDS[*]}"

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sensing benchmarks (not a timed test; prints ratios measured in one run):
#  (a) hook cost: ns per run of fp_nf_hook / ns per run of an empty netfilter
#      program on the same hooks, same traffic (kernel.bpf_stats_enabled=1);
#  (b) throughput: iperf3 through the host with the agent / without,
#      alternating A/B;
#  (c) elephant event latency: threshold-crossing packet -> user space.
#  (a) is measured on two mixes: bulk only (200M per flow: the per-packet
#  path) and bulk + mice (24M per flow, BENCH_MICE=20 short connections
#  after each: adds the per-flow path).  BENCH_BULK overrides both sizes.
# Usage (root, built tree): tests/perf/bench-sense.sh [ROUNDS]
set -euo pipefail
FP_SRCDIR=${FP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FP_BUILDDIR=${FP_BUILDDIR:-$FP_SRCDIR}
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT
ROUNDS=${1:-3}

prog_stats() { # PROG-ID -> "run_time_ns run_cnt"
    bpftool prog show id "$1" --json | "$PY" -c \
        'import json,sys; p=json.load(sys.stdin); print(p.get("run_time_ns",0), p.get("run_cnt",0))'
}
iperf_gbps() { # ARGS... -> Gbit/s received
    ip netns exec fpA iperf3 -J "$@" | "$PY" -c \
        'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)'
}

lab_setup
lab_save_sysctl kernel.bpf_stats_enabled 1
lab_bg ip netns exec fpB iperf3 -s -p 15201
lab_bg ip netns exec fpB "$PY" "$FP_SRCDIR/tests/lib/mice.py" serve 18080
sleep 0.5

echo "== (b) throughput A/B, $ROUNDS rounds of 4 s each way"
with=() without=()
# ABBA: odd rounds measure without first, even rounds with first, so a
# drift of the shared machine does not favour one side.
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then
        without+=("$(iperf_gbps -c 10.201.2.2 -p 15201 -t 4)")
        lab_start_agent
        with+=("$(iperf_gbps -c 10.201.2.2 -p 15201 -t 4)")
        lab_stop_agent
    else
        lab_start_agent
        with+=("$(iperf_gbps -c 10.201.2.2 -p 15201 -t 4)")
        lab_stop_agent
        without+=("$(iperf_gbps -c 10.201.2.2 -p 15201 -t 4)")
    fi
    echo "round $r: without ${without[-1]} Gbit/s, with ${with[-1]} Gbit/s"
done

echo "== (a) hook cost and (c) event latency"
lab_start_agent
# The empty program runs once after ours (priority 400) and once before it
# (250): the hook chain's order changes what each pays for cold caches.
measure() { # EMPTY-PRIORITY MICE-PER-BULK -> "ours_ns ours_runs empty_ns empty_runs"
    local empty_id pid o_t0 o_n0 o_t1 o_n1 e_t0 e_n0 e_t1 e_n1 mice=$2
    "$FP_BUILDDIR/tests/perf/fp-empty-hook" "$1" >"$LAB_DIR/empty.out" &
    pid=$!
    lab_wait_for 10 test -s "$LAB_DIR/empty.out" || lab_fail "fp-empty-hook did not start"
    read -r empty_id _ <"$LAB_DIR/empty.out"
    read -r o_t0 o_n0 < <(prog_stats "$ours_id")
    read -r e_t0 e_n0 < <(prog_stats "$empty_id")
    # Traffic mix: 10 bulk flows of 24 MiB (each one elephant event) and mice.
    for i in $(seq 10); do
        ip netns exec fpA iperf3 -c 10.201.2.2 -p 15201 -n "${BENCH_BULK:-24M}" >/dev/null
        [ "$mice" = 0 ] || ip netns exec fpA "$PY" "$FP_SRCDIR/tests/lib/mice.py" \
            run 10.201.2.2 18080 "$mice" >/dev/null
    done
    read -r o_t1 o_n1 < <(prog_stats "$ours_id")
    read -r e_t1 e_n1 < <(prog_stats "$empty_id")
    kill "$pid"; wait "$pid" || true
    echo $((o_t1 - o_t0)) $((o_n1 - o_n0)) $((e_t1 - e_t0)) $((e_n1 - e_n0))
}
ours_id=$(bpftool prog show name fp_nf_hook --json | "$PY" -c \
    'import json,sys; d=json.load(sys.stdin); d=d if isinstance(d,list) else [d]; print(d[0]["id"])')
# Two traffic mixes: bulk only (the per-packet path) and bulk with mice
# (adds the per-flow path: every short connection is a new flow).
bulk_after=$(BENCH_BULK=${BENCH_BULK:-200M} measure 400 0)
bulk_before=$(BENCH_BULK=${BENCH_BULK:-200M} measure 250 0)
after=$(measure 400 "${BENCH_MICE:-20}")
before=$(measure 250 "${BENCH_MICE:-20}")
fpctl status --json >"$LAB_DIR/status.json"

"$PY" - "$bulk_after" "$bulk_before" "$after" "$before" "$LAB_DIR/status.json" "${with[*]}" \
    "${without[*]}" <<'PY'
import json, statistics, sys
st = json.load(open(sys.argv[5]))
w = [float(x) for x in sys.argv[6].split()]
wo = [float(x) for x in sys.argv[7].split()]
for mix, runs in (("bulk only", sys.argv[1:3]), ("bulk + mice", sys.argv[3:5])):
    ratios = []
    for name, m in zip(("empty after ours", "empty before ours"), runs):
        ot, on, et, en = map(int, m.split())
        ours, empty = ot / max(on, 1), et / max(en, 1)
        ratios.append(ours / empty)
        print(f"    {mix}, {name}: fp_nf_hook {ours:.1f} ns/run over {on} runs, "
              f"empty {empty:.1f} ns/run over {en} runs: {ours / empty:.2f}")
    print(f"(a) hook cost ratio, {mix} (mean of both orders): {statistics.mean(ratios):.2f} "
          f"(target <= 1.5)")
print(f"(b) throughput: with agent {statistics.mean(w):.2f} Gbit/s, without "
      f"{statistics.mean(wo):.2f} Gbit/s: ratio {statistics.mean(w) / statistics.mean(wo):.3f} "
      f"(target >= 0.98)")
print(f"(c) event latency over {st['event_latency_samples']} events: "
      f"p50 {st['event_latency_p50_ns'] / 1e6:.3f} ms, p99 {st['event_latency_p99_ns'] / 1e6:.3f} ms "
      f"(target p99 <= 10 ms); events dropped {st['events_dropped']}; longest sweep "
      f"{st['sweep_max_us'] / 1e3:.1f} ms")
PY

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the agent's sweeps cost the mice on a host with many conntrack
# entries (not a timed test; prints ratios measured in one run): UDP round
# trips across the host every 2 ms, with BENCH_FLOWS=3000 quiet flows in
# conntrack, without and with the agent (shipped 1 s sweeps), alternating
# BENCH_ROUNDS=2 times, BENCH_SECONDS=20 each.  A conntrack dump takes
# ~10 ms of kernel time from packet processing on its CPU: a sweep that
# dumps shows in the round-trip tail (p99.9, max).  FP_BUILDDIR=... runs
# another build's agent (e.g. an older commit's) against the same lab.
# Usage (root, built tree): tests/perf/bench-sweep.sh
set -euo pipefail
FP_SRCDIR=${FP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FP_BUILDDIR=${FP_BUILDDIR:-$FP_SRCDIR}
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT
FLOWS=${BENCH_FLOWS:-3000}
ROUNDS=${BENCH_ROUNDS:-2}
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
MICE=("$PY" "$FP_SRCDIR/tests/lib/mice.py")

LAB_SWEEP_MS=${LAB_SWEEP_MS:-1000}
lab_setup
lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout 600
lab_bg ip netns exec fpB "${MICE[@]}" serve 18080
ip netns exec fpA "${MICE[@]}" quiet 10.201.2.2 "$FLOWS" 1
sleep 0.5
echo "== $FLOWS quiet flows in conntrack ($(conntrack -C) entries), $ROUNDS rounds of ${SECONDS_PER_RUN} s each way"
: >"$LAB_DIR/runs"
status() { fpctl status --json | "$PY" -c 'import json,sys; s=json.load(sys.stdin); print(s["sweeps"], s["sweep_dumps"])'; }
for _ in $(seq "$ROUNDS"); do
    echo "without $(ip netns exec fpA "${MICE[@]}" ping 10.201.2.2 18080 "$SECONDS_PER_RUN")" \
        >>"$LAB_DIR/runs"
    lab_start_agent
    read -r sweeps0 dumps0 < <(status)
    rtt=$(ip netns exec fpA "${MICE[@]}" ping 10.201.2.2 18080 "$SECONDS_PER_RUN")
    read -r sweeps1 dumps1 < <(status)
    lab_stop_agent
    echo "with $rtt $((sweeps1 - sweeps0)) $((dumps1 - dumps0))" >>"$LAB_DIR/runs"
    tail -2 "$LAB_DIR/runs"
done

"$PY" - "$LAB_DIR/runs" <<'PY'
import json, statistics, sys
runs = {"with": [], "without": []}
dumps = sweeps = 0
for line in open(sys.argv[1]):
    side, rest = line.split(" ", 1)
    if side == "with":
        js, s, d = rest.rsplit(" ", 2)
        sweeps += int(s)
        dumps += int(d)
    else:
        js = rest
    runs[side].append(json.loads(js))
for q, label in (("p50", "p50"), ("p99", "p99"), ("p999", "p99.9"), ("max", "max")):
    w = statistics.median(r[q] for r in runs["with"])
    wo = statistics.median(r[q] for r in runs["without"])
    print(f"round trip {label}: with agent {w / 1000:.3f} ms, without {wo / 1000:.3f} ms: "
          f"ratio {w / wo:.2f}")
print(f"the agent swept {sweeps} times while measured, {dumps} of them dumping conntrack")
PY

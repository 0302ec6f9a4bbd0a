#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A conntrack bigger than a sweep can dump, and an agent table smaller than
# the flows (issue 16), with the BPF backend: 12000 quiet UDP flows from
# fpA to the host before the agent starts, [sense] flows_max=1024.  The
# agent never dumps (sweep_dumps 0, the dumps it would have done counted
# in sweep_dumps_skipped), does not call conntrack idle, keeps at most
# flows_max flows while 3000 more are born (refused or let go, counted),
# the kernel still counts every birth on fpa-h, no main-loop dispatch uses
# 50 ms of CPU meanwhile, an elephant is followed
# however full the table is, and the default listing is the 100 biggest
# with the elephant first.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT
FLOWS=$FP_BUILDDIR/tests/perf/fp-scale-flows
MAX=1024

lab_setup
lab_require_bpf_backend "the scale test needs"
lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout 300
lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout_stream 300
lab_bg ip netns exec fpB iperf3 -s -p 15201
ip netns exec fpA "$FLOWS" fill 10.201.1.1 12 1000 >/dev/null
[ "$(conntrack -C)" -gt 12000 ] || lab_fail "only $(conntrack -C) conntrack entries after the fill"

LAB_SWEEP_MS=200 lab_start_agent "flows_max=$MAX"
status() { fpctl status --json >"$LAB_DIR/status.json"; }
field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$LAB_DIR/status.json" "$1"; }
swept() { status; [ "$(field sweeps)" -ge 5 ]; }
lab_wait_for 20 swept || lab_fail "the agent does not sweep: $(cat "$LAB_DIR/status.json")"
[ "$(field sweep_dumps)" = 0 ] || lab_fail "$(field sweep_dumps) dumps of a 12000-entry conntrack"
[ "$(field sweep_dumps_skipped)" -ge 1 ] || lab_fail "the skipped first dump is not counted"
[ -z "$(field conntrack_warning)" ] || lab_fail "warning with 12000 entries: $(field conntrack_warning)"
echo "ok - no dump of 12000 entries ($(field sweep_dumps_skipped) skipped), no idle warning"

births() { lab_births fpa-h 0; }
b0=$(births)
# 3000 new flows from new source ports over 2 s (none of the old move).
ip netns exec fpA "$FLOWS" churn 10.201.1.1 12 1000 0 1500 2 >/dev/null
all_born() { [ "$(births)" -ge $((b0 + 3000)) ]; }
lab_wait_for 5 all_born || lab_fail "the kernel counted $(($(births) - b0)) of 3000 births on fpa-h"
more_sweeps() { status; [ "$(field sweeps)" -ge 15 ]; }
lab_wait_for 20 more_sweeps || lab_fail "the agent stopped sweeping"
[ "$(field flows)" -le $MAX ] || lab_fail "$(field flows) flows in a table of at most $MAX"
[ $(($(field flows_refused) + $(field flows_let_go))) -gt 0 ] ||
    lab_fail "3000 flows into $MAX places and none refused or let go"
[ "$(field devstats_full)" = 0 ] || lab_fail "the device map lost counts"
[ "$(field loop_dispatches_slow_cpu)" = 0 ] ||
    lab_fail "$(field loop_dispatches_slow_cpu) main-loop dispatches used over 50 ms of CPU"
echo "ok - $(field flows) flows followed of 15000 (refused $(field flows_refused)," \
    "let go $(field flows_let_go)); the kernel counted $(($(births) - b0)) births;" \
    "the most CPU one dispatch used: $(field loop_dispatch_cpu_max_us) us"

ip netns exec fpA iperf3 -c 10.201.2.2 -p 15201 -t 3 >/dev/null
lab_elephant_first 10 15201 "the iperf3 elephant followed with a full table"
echo "ok - the elephant is followed and listed first"
lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(tail -5 "$LAB_DIR/agent.log")"
echo "PASS: sense at scale"

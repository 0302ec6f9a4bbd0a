#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The ctnetlink fallback on a conntrack too big to dump in a sweep (issue
# 16): 100000 quiet UDP flows from fpA to the host and an iperf3 elephant
# (fpA -> fpB, 80 Mbit/s) started before the agent (nf_conntrack_acct on
# before them, as on a host where footprintd ran: flows older than acct
# have no counters), [sense] backend = ctnetlink, flows_max=1024.  The main loop never dumps (sweep_dumps 0): a
# scan in a worker thread reads the whole table (scan_entries), keeps a
# bounded number of the biggest flows (scan_kept <= flows_max / 4), and
# the loop goes on sweeping while it runs (scan_sweeps); no main-loop dispatch used
# 50 ms of CPU, and none used as much CPU as the scan did (it was not on
# the loop); the elephant, older than the agent, is found and listed
# first; a second elephant, started after the agent, is found by the next
# scan; the table stays within flows_max.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT
FLOWS=$FP_BUILDDIR/tests/perf/fp-scale-flows
MAX=1024
N=100000

lab_setup
lab_log "lab up; filling $N flows"
lab_save_sysctl net.netfilter.nf_conntrack_acct 1
lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout 300
lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout_stream 300
[ "$(sysctl -n net.netfilter.nf_conntrack_max)" -ge $((N + 20000)) ] ||
    lab_save_sysctl net.netfilter.nf_conntrack_max $((N + 20000))
lab_bg ip netns exec fpB iperf3 -s -p 15201
lab_bg ip netns exec fpB iperf3 -s -p 15202
ip netns exec fpA "$FLOWS" fill 10.201.1.1 $((N / 1000)) 1000 >/dev/null
[ "$(conntrack -C)" -gt "$N" ] || lab_fail "only $(conntrack -C) conntrack entries after the fill"
lab_bg ip netns exec fpA iperf3 -c 10.201.2.2 -p 15201 -b 80M -t 60
sleep 2

lab_log "$(conntrack -C) conntrack entries; agent starting"
LAB_BACKEND=ctnetlink LAB_SWEEP_MS=100 lab_start_agent "flows_max=$MAX"
status() { fpctl status --json >"$LAB_DIR/status.json"; }
field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$LAB_DIR/status.json" "$1"; }
# Answers while a scan runs: each status call is one round trip through
# the main loop.
answered=0
scanned() {
    status
    [ "$(field scan_running)" = True ] && answered=$((answered + 1))
    [ "$(field scans)" -ge 1 ]
}
lab_wait_for 60 scanned || lab_fail "no scan ended: $(cat "$LAB_DIR/status.json")"
[ "$(field backend)" = ctnetlink ] || lab_fail "backend $(field backend)"
[ "$(field sweep_dumps)" = 0 ] || lab_fail "$(field sweep_dumps) dumps of a $N-entry conntrack on the loop"
[ "$(field scan_entries)" -ge "$N" ] || lab_fail "the scan read $(field scan_entries) entries of $N"
[ "$(field scan_kept)" -le $((MAX / 4)) ] || lab_fail "the scan kept $(field scan_kept) flows"
[ "$(field scan_sweeps)" -ge 1 ] || lab_fail "no sweep while the scan ran: it held the loop"
[ -z "$(field conntrack_warning)" ] || lab_fail "warning with $N entries: $(field conntrack_warning)"
echo "ok - one scan of $(field scan_entries) entries in a worker ($(field scan_cpu_us) us of CPU," \
    "$(field scan_wall_us) us), $(field scan_kept) kept; $(field scan_sweeps) sweeps and" \
    "$answered status answers while it ran;" \
    "no dump on the loop; next scan in $(field scan_interval_us) us"

lab_elephant_first 20 15201 "the iperf3 elephant older than the agent"
echo "ok - the elephant, older than the agent, is found by the scan and listed first"

status
s0=$(field scans)
lab_bg ip netns exec fpA iperf3 -c 10.201.2.2 -p 15202 -b 80M -t 60
# The next scan starts scan_interval_us after the first ended.
lab_wait_for $(($(field scan_interval_us) / 1000000 + 30)) lab_elephant_listed 15202 ||
    lab_fail "the elephant started after the agent is not found (scans $(field scans))"
status
[ "$(field scans)" -gt "$s0" ] || lab_fail "found without a second scan: scans $(field scans)"
echo "ok - the elephant started after the agent is found by the next scan (scans: $(field scans))"

status
[ "$(field flows)" -le $MAX ] || lab_fail "$(field flows) flows in a table of at most $MAX"
[ "$(field loop_dispatches_slow_cpu)" = 0 ] ||
    lab_fail "$(field loop_dispatches_slow_cpu) main-loop dispatches used over 50 ms of CPU"
[ "$(field loop_dispatch_cpu_max_us)" -lt "$(field scan_cpu_us)" ] ||
    lab_fail "a dispatch used $(field loop_dispatch_cpu_max_us) us of CPU, the scan $(field scan_cpu_us)"
echo "ok - $(field flows) flows followed; the most CPU one dispatch used:" \
    "$(field loop_dispatch_cpu_max_us) us (longest dispatch $(field loop_dispatch_max_us) us)"
lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(tail -5 "$LAB_DIR/agent.log")"
echo "PASS: the ctnetlink fallback at scale"

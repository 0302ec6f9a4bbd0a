#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A second footprintd must not break the running one.  With an agent
# running, a second copy (same configuration, run by hand) must exit with
# an error naming the first one's pid, and leave everything as it was:
# nf_conntrack_acct and its saved value, the BPF hooks (bpftool link), the
# files under the runtime and state directories and the metrics file; the
# first agent must go on sweeping.  --version, --check-config and --probe
# still work next to it.  Without the lock, the second copy restored the
# saved value (nf_conntrack_acct=0 under the running agent) and deleted it.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT

lab_require_kernel
lab_begin
lab_start_bus
# Accounting off: the agent turns it on and saves the 0 to restore.
lab_save_sysctl net.netfilter.nf_conntrack_acct 0
mkdir -p "$LAB_DIR/metrics"
LAB_SWEEP_MS=200 lab_start_agent "[metrics]" "textfile=$LAB_DIR/metrics/footprintd.prom" \
    "interval=1"
lab_wait_for 5 test -s "$LAB_DIR/metrics/footprintd.prom" || lab_fail "no metrics file"
[ "$(sysctl -n net.netfilter.nf_conntrack_acct)" = 1 ] || lab_fail "agent did not enable acct"
[ -f "$LAB_DIR/run/nf_conntrack_acct.saved" ] || lab_fail "agent saved no nf_conntrack_acct"

# snapshot: what a second copy must not change.  The metrics file is
# rewritten by the first agent every second, so only its existence counts;
# the state file is written once a minute (not within this test).
snapshot() {
    echo "acct=$(sysctl -n net.netfilter.nf_conntrack_acct)"
    echo "saved=$(cat "$LAB_DIR/run/nf_conntrack_acct.saved")"
    echo "links:"; bpftool link show 2>/dev/null | grep -E '^[0-9]+:' | sort
    echo "progs:"; bpftool prog show name fp_nf_hook 2>/dev/null | grep -E '^[0-9]+:' | sort
    echo "run:"; (cd "$LAB_DIR/run" && find . -type f -print0 | sort -z | xargs -0r sha256sum)
    echo "state:"; { find "$LAB_DIR/state" -print 2>/dev/null || true; } | sort
    echo "metrics:"; ls "$LAB_DIR/metrics"
}
snapshot >"$LAB_DIR/before.txt"
sweeps_before=$(lab_status_field sweeps)

rc=0
"$FP_BUILDDIR/src/footprintd" --config "$LAB_DIR/footprintd.conf" >"$LAB_DIR/second.log" 2>&1 ||
    rc=$?
[ "$rc" = 1 ] || lab_fail "second copy exited $rc, expected 1: $(cat "$LAB_DIR/second.log")"
grep -q "another footprintd (pid $LAB_AGENT_PID) holds '$LAB_DIR/run/footprintd.lock'" \
    "$LAB_DIR/second.log" || lab_fail "second copy did not name the holder: $(cat "$LAB_DIR/second.log")"
echo "ok - a second copy exits 1: $(head -1 "$LAB_DIR/second.log")"

# The informational options do not take the lock.
"$FP_BUILDDIR/src/footprintd" --version >/dev/null || lab_fail "--version failed"
"$FP_BUILDDIR/src/footprintd" --check-config --config "$LAB_DIR/footprintd.conf" |
    grep -q "configuration OK" || lab_fail "--check-config failed"
"$FP_BUILDDIR/src/footprintd" --probe --config "$LAB_DIR/footprintd.conf" |
    grep -q "^backend: " || lab_fail "--probe failed"
echo "ok - --version, --check-config and --probe work next to the agent"

# --probe loads a program and detaches it; the kernel frees it after an
# RCU grace period, so give the list a few seconds to settle.
unchanged() { snapshot >"$LAB_DIR/after.txt" && cmp -s "$LAB_DIR/before.txt" "$LAB_DIR/after.txt"; }
lab_wait_for 5 unchanged || {
    diff -u "$LAB_DIR/before.txt" "$LAB_DIR/after.txt" >&2
    lab_fail "the second copy changed the host (diff above)"
}
echo "ok - nf_conntrack_acct, its saved value, hooks and files unchanged"

more_sweeps() { [ "$(lab_status_field sweeps)" -gt $((sweeps_before + 2)) ]; }
lab_wait_for 5 more_sweeps || lab_fail "the first agent stopped sweeping"
kill -0 "$LAB_AGENT_PID" || lab_fail "the first agent died"
echo "ok - the first agent goes on ($(lab_status_field sweeps) sweeps)"

lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(tail -5 "$LAB_DIR/agent.log")"
[ "$(sysctl -n net.netfilter.nf_conntrack_acct)" = 0 ] || lab_fail "nf_conntrack_acct not restored"
echo "ok - the first agent restores nf_conntrack_acct when it stops"
[ ! -e "$LAB_DIR/metrics/footprintd.prom" ] || lab_fail "metrics file left after a clean stop"
echo "ok - and removes its metrics file (node_exporter serves no stale values)"

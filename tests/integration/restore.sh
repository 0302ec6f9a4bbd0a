#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Crash restore without a restart: footprintd killed with SIGKILL leaves
# nf_conntrack_acct on and its metrics file behind; `footprintd --restore`
# (the unit's ExecStopPost=) puts nf_conntrack_acct back and removes the
# file, is idempotent, and does nothing while an agent runs (it would
# switch accounting off under it).
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT

lab_require_kernel
lab_begin
lab_start_bus
lab_save_sysctl net.netfilter.nf_conntrack_acct 0
mkdir -p "$LAB_DIR/metrics"
conf=("[metrics]" "textfile=$LAB_DIR/metrics/footprintd.prom" "interval=1")
restore() { "$FP_BUILDDIR/src/footprintd" --restore --config "$LAB_DIR/footprintd.conf"; }
acct() { sysctl -n net.netfilter.nf_conntrack_acct; }

LAB_SWEEP_MS=200 lab_start_agent "${conf[@]}"
lab_wait_for 5 test -s "$LAB_DIR/metrics/footprintd.prom" || lab_fail "no metrics file"
[ "$(acct)" = 1 ] || lab_fail "agent did not enable nf_conntrack_acct"

out=$(restore) || lab_fail "--restore next to a running agent failed: $out"
grep -q "another footprintd (pid $LAB_AGENT_PID) holds .*nothing done" <<<"$out" ||
    lab_fail "--restore did not name the running agent: $out"
[ "$(acct)" = 1 ] || lab_fail "--restore switched accounting off under a running agent"
[ -f "$LAB_DIR/run/nf_conntrack_acct.saved" ] || lab_fail "--restore removed the saved value"
[ -f "$LAB_DIR/metrics/footprintd.prom" ] || lab_fail "--restore removed a running agent's metrics"
echo "ok - --restore leaves a running agent alone: $out"

kill -KILL "$LAB_AGENT_PID"
wait "$LAB_AGENT_PID" 2>/dev/null || true
LAB_AGENT_PID=
[ "$(acct)" = 1 ] || lab_fail "nf_conntrack_acct already off after SIGKILL?"
[ -f "$LAB_DIR/metrics/footprintd.prom" ] || lab_fail "no metrics file left to clean up"
# What a write cut short by the SIGKILL would leave.
echo partial >"$LAB_DIR/metrics/.footprintd.prom.tmp-Ab3dE9"
echo "ok - SIGKILL left nf_conntrack_acct=1 and the metrics file"

out=$(restore) || lab_fail "--restore failed: $out"
echo "$out" | sed 's/^/# /'
[ "$(acct)" = 0 ] || lab_fail "--restore did not put nf_conntrack_acct back"
[ ! -e "$LAB_DIR/run/nf_conntrack_acct.saved" ] || lab_fail "saved value left after --restore"
[ ! -e "$LAB_DIR/metrics/footprintd.prom" ] || lab_fail "stale metrics file left after --restore"
[ ! -e "$LAB_DIR/metrics/.footprintd.prom.tmp-Ab3dE9" ] || lab_fail "temporary file left"
echo "ok - --restore after SIGKILL: nf_conntrack_acct=0, metrics and temporary files removed"

out=$(restore) || lab_fail "second --restore failed: $out"
grep -q "nothing saved to restore" <<<"$out" || lab_fail "second --restore: $out"
[ "$(acct)" = 0 ] || lab_fail "second --restore changed nf_conntrack_acct"
echo "ok - --restore is idempotent"

# An operator who had accounting on: the agent changes nothing, and nor does
# --restore after a SIGKILL.
sysctl -qw net.netfilter.nf_conntrack_acct=1
LAB_SWEEP_MS=200 lab_start_agent "${conf[@]}"
kill -KILL "$LAB_AGENT_PID"
wait "$LAB_AGENT_PID" 2>/dev/null || true
LAB_AGENT_PID=
restore >/dev/null || lab_fail "--restore failed"
[ "$(acct)" = 1 ] || lab_fail "--restore turned off the operator's accounting"
echo "ok - an operator's nf_conntrack_acct=1 stays"

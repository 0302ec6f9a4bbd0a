#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# SIGHUP reloads the configuration instead of killing the agent.  A good
# file: the keys that apply at run time take effect (the sweep interval:
# sweeps come faster; the metrics file moves), the others are logged as
# waiting for the next start; the agent goes on.  A bad file: the error is
# logged, the running configuration stays, the agent goes on.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT

lab_require_kernel
lab_begin
lab_start_bus
mkdir -p "$LAB_DIR/metrics"
LAB_SWEEP_MS=1000 lab_start_agent "[metrics]" "textfile=$LAB_DIR/metrics/a.prom" "interval=1"
conf=$LAB_DIR/footprintd.conf
lab_wait_for 5 test -s "$LAB_DIR/metrics/a.prom" || lab_fail "no metrics file"

# sweeps_in SECONDS: how many sweeps the agent makes in that time.
sweeps_in() {
    local a b
    a=$(lab_status_field sweeps)
    sleep "$1"
    b=$(lab_status_field sweeps)
    echo $((b - a))
}
logged() { grep -qF -- "$1" "$LAB_DIR/agent.log"; }
slow=$(sweeps_in 3)
[ "$slow" -le 5 ] || lab_fail "$slow sweeps in 3 s at 1000 ms"

sed -i -e 's/^sweep_interval_ms=1000$/sweep_interval_ms=100/' \
    -e "s|^textfile=.*|textfile=$LAB_DIR/metrics/b.prom|" "$conf"
printf '%s\n' "[sense]" "elephant_bytes=1048576" "[footprint]" "window=30" >>"$conf"
kill -HUP "$LAB_AGENT_PID"
lab_wait_for 5 logged "reload: [agent] sweep_interval_ms: '1000' -> '100'" ||
    lab_fail "no reload logged: $(tail -5 "$LAB_DIR/agent.log")"
logged "reload: [footprint] window: '60' -> '30'" || lab_fail "window change not logged"
logged "reload: [sense] elephant_bytes: '10485760' -> '1048576' at the next start ('10485760' stays in force)" ||
    lab_fail "elephant_bytes not reported as waiting for a restart"
kill -0 "$LAB_AGENT_PID" || lab_fail "SIGHUP killed the agent"
fast=$(sweeps_in 3)
[ "$fast" -ge 15 ] || lab_fail "$fast sweeps in 3 s after the reload to 100 ms (before: $slow)"
echo "ok - SIGHUP with a good file: $slow -> $fast sweeps in 3 s, changes logged"
lab_wait_for 5 test -s "$LAB_DIR/metrics/b.prom" || lab_fail "metrics not written to the new file"
[ ! -e "$LAB_DIR/metrics/a.prom" ] || lab_fail "the old metrics file stayed"
echo "ok - the metrics file moved with [metrics] textfile"

cp "$conf" "$LAB_DIR/good.conf"
printf '%s\n' "[sense]" "elefant_bytes=1" >>"$conf"
kill -HUP "$LAB_AGENT_PID"
lab_wait_for 5 logged "[sense] unknown key 'elefant_bytes'; the running configuration stays" ||
    lab_fail "bad file not logged: $(tail -5 "$LAB_DIR/agent.log")"
kill -0 "$LAB_AGENT_PID" || lab_fail "a bad file killed the agent"
still=$(sweeps_in 2)
[ "$still" -ge 10 ] || lab_fail "$still sweeps in 2 s after a bad reload: the configuration changed"
echo "ok - SIGHUP with a bad file: logged, the running configuration stays ($still sweeps in 2 s)"

# The file as in force: elephant_bytes back to its running value.
grep -v '^elephant_bytes=' "$LAB_DIR/good.conf" >"$conf"
kill -HUP "$LAB_AGENT_PID"
lab_wait_for 5 logged "reload: the configuration did not change" || lab_fail "no-op reload not logged"
lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(tail -5 "$LAB_DIR/agent.log")"
echo "ok - a file equal to what is in force changes nothing; the agent stops cleanly"

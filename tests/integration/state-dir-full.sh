#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A full disk and a read-only state dir.  The state dir is a small tmpfs
# (in a mount namespace of this test's own, gone when it exits) holding the
# state file, with two learnt VMs, and the metrics file.  Filled up, then
# remounted read-only, the agent must:
#  - keep running and sweeping, and answer on the bus;
#  - say so in footprintctl status (state_write_error and
#    metrics_write_error name the file and the errno text,
#    state_write_failures grows, state_last_write_age_s says how old the
#    last good write is) and in the log once per change, not once per
#    attempt;
#  - leave the last complete state file byte for byte, still loadable, and
#    no temporary file;
# and once there is room again (or the dir is writable again), write both
# files again, clear the errors, and count the failures in the metrics.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"

[ "$(id -u)" = 0 ] || lab_skip "needs root (mounts, BPF, conntrack)"
if [ -z "${FP_STATE_FULL_NS:-}" ]; then
    unshare --mount true 2>/dev/null || lab_skip "kernel without mount namespaces"
    FP_STATE_FULL_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

N=0
ok() {
    N=$((N + 1))
    echo "ok $N - $*"
}
state_exit() {
    local rc=$?
    set +e
    if [ "$rc" != 0 ] && [ -f "${LAB_DIR:-}/agent.log" ]; then
        tail -n 20 "$LAB_DIR/agent.log" | sed 's/^/#   /' >&2
    fi
    lab_stop_agent
    umount "${STATE:-/nonexistent}" 2>/dev/null
    lab_cleanup
    return "$rc"
}
trap state_exit EXIT

lab_require_kernel
lab_begin
lab_start_bus
STATE=$LAB_DIR/state
FILE=$STATE/footprints
PROM=$STATE/footprintd.prom
mkdir "$STATE"
mount -t tmpfs -o size=256k,mode=0755 fp17-state "$STATE"

# Two VMs learnt by an earlier run (not running now: their models are kept).
now=$(date +%s)
VM1=17171717-0000-4000-8000-000000000001
VM2=17171717-0000-4000-8000-000000000002
cat >"$FILE" <<EOF
[footprintd]
format=1

[vm $VM1]
learned=latency
confidence=0.8
rx_bps=300000
tx_bps=2000000
observed_s=600
last_seen=$now

[vm $VM2]
learned=throughput
confidence=0.9
rx_bps=90000000
tx_bps=1000000
observed_s=900
last_seen=$now
EOF

# state_loads FILE: a whole state file, with both VMs (a truncated one
# would lose the second or end mid-entry).
state_loads() {
    "$PY" - "$1" "$VM1" "$VM2" <<'PY'
import configparser, sys
c = configparser.ConfigParser(interpolation=None)
c.read_string(open(sys.argv[1]).read())
assert c["footprintd"]["format"] == "1", "format"
for uuid in sys.argv[2:]:
    vm = c["vm " + uuid]
    for key in ("learned", "confidence", "rx_bps", "tx_bps", "last_seen"):
        assert key in vm, (uuid, key)
PY
}
field() { lab_status_field "$1"; }
field_has() { field "$1" | grep -F -- "$2" >/dev/null; }
field_is() { [ "$(field "$1")" = "$2" ]; }
no_temp_files() {
    local t
    t=$(find "$STATE" -name '.*.tmp-*')
    [ -z "$t" ] || lab_fail "temporary files left: $t"
}
# log_lines PATTERN: how many log lines match.
log_lines() { grep -c -- "$1" "$LAB_DIR/agent.log" || true; }
metric() { # NAME{LABELS}: its value in the metrics file
    awk -v m="$1" '$1 == m { print $2 }' "$PROM"
}

LAB_SWEEP_MS=200 lab_start_agent "[footprint]" "save_interval=1" \
    "[metrics]" "textfile=$PROM" "interval=1"
lab_wait_for 10 field_is state_write_error "" || lab_fail "state_write_error: $(field state_write_error)"
# Replaced by the agent's first save (a rename: another inode).
seeded=$(stat -c %i "$FILE")
saved() { [ "$(stat -c %i "$FILE")" != "$seeded" ]; }
lab_wait_for 10 saved || lab_fail "the agent did not save the state file"
state_loads "$FILE" || lab_fail "the agent's own state file does not load"
# Written in a worker thread: the health hears of it at the next sweep.
age_recent() { "$PY" -c 'import sys; sys.exit(not 0 <= float(sys.argv[1]) < 5)' "$(field state_last_write_age_s)"; }
lab_wait_for 5 age_recent || lab_fail "state_last_write_age_s $(field state_last_write_age_s)"
lab_wait_for 5 test -s "$PROM" || lab_fail "no metrics file"
ok "the agent writes the state file (both VMs kept) and the metrics file"

# fail_phase WHAT ERRNO-TEXT: the state dir fails every write.
fail_phase() {
    local what=$1 errtext=$2 good sweeps before_failures
    lab_wait_for 10 field_has state_write_error "$errtext" ||
        lab_fail "$what: state_write_error is '$(field state_write_error)'"
    field_has state_write_error "'$FILE'" || lab_fail "$what: the error does not name the file"
    lab_wait_for 5 field_has metrics_write_error "$errtext" ||
        lab_fail "$what: metrics_write_error is '$(field metrics_write_error)'"
    cp "$FILE" "$LAB_DIR/good.state"
    state_loads "$FILE" || lab_fail "$what: the state file left does not load"
    tail -n 1 "$PROM" | grep '^footprintd_vms ' >/dev/null ||
        lab_fail "$what: the metrics file left is not whole: $(tail -n 2 "$PROM")"
    sweeps=$(field sweeps)
    before_failures=$(field state_write_failures)
    sleep 3
    kill -0 "$LAB_AGENT_PID" || lab_fail "$what: the agent died"
    [ "$(field sweeps)" -gt "$sweeps" ] || lab_fail "$what: the agent stopped sweeping"
    [ "$(field state_write_failures)" -ge $((before_failures + 2)) ] ||
        lab_fail "$what: state_write_failures $(field state_write_failures) (was $before_failures)"
    cmp "$FILE" "$LAB_DIR/good.state" || lab_fail "$what: the state file changed"
    no_temp_files
    good=$(log_lines "footprint state '$FILE'.*$errtext")
    [ "$good" = 1 ] || lab_fail "$what: $good log lines for the state file's failure (want 1)"
    [ "$(log_lines "metrics file '$PROM'.*$errtext")" = 1 ] ||
        lab_fail "$what: log lines for the metrics file's failure"
}
# recover_phase WHAT: writes work again.
recover_phase() {
    local what=$1 age
    lab_wait_for 10 field_is state_write_error "" ||
        lab_fail "$what: state_write_error stays '$(field state_write_error)'"
    lab_wait_for 5 field_is metrics_write_error "" || lab_fail "$what: metrics_write_error stays"
    age=$(field state_last_write_age_s)
    "$PY" -c 'import sys; sys.exit(not 0 <= float(sys.argv[1]) < 5)' "$age" ||
        lab_fail "$what: state_last_write_age_s $age"
    state_loads "$FILE" || lab_fail "$what: the new state file does not load"
    no_temp_files
    [ "$(log_lines "footprint state '$FILE': written again")" -ge 1 ] ||
        lab_fail "$what: the log does not say the state file is written again"
    # (A function: the metric is read again at each try.)
    state_not_failing() { [ "$(metric 'footprintd_file_write_failing{file="state"}')" = 0 ]; }
    lab_wait_for 5 state_not_failing ||
        lab_fail "$what: footprintd_file_write_failing: $(grep write_fail "$PROM")"
    [ "$(metric 'footprintd_file_write_failures_total{file="state"}')" -gt 0 ] ||
        lab_fail "$what: footprintd_file_write_failures_total: $(grep write_fail "$PROM")"
}

# A full disk.
dd if=/dev/zero of="$STATE/fill" bs=4k 2>/dev/null || true
fail_phase "full disk" "No space left on device"
ok "full: the agent runs on, says so once in the log and in status, the old files stay whole"
rm "$STATE/fill"
recover_phase "full disk freed"
ok "space again: both files are written, the errors clear, the metrics count the failures"

# A read-only state dir.
mount -o remount,ro "$STATE"
fail_phase "read-only" "Read-only file system"
ok "read-only: the same"
mount -o remount,rw "$STATE"
recover_phase "writable again"
ok "writable again: the same recovery"

lab_stop_agent || lab_fail "footprintd did not exit cleanly"
state_loads "$FILE" || lab_fail "the state file saved at stop does not load"
[ ! -e "$PROM" ] || lab_fail "the metrics file stays after a clean stop"
ok "a clean stop saves the state file and removes the metrics file"
echo "1..$N"

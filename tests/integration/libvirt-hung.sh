#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A libvirtd that accepts connections but does not answer them (here
# SIGSTOPped, as a hung one) must not hold the agent: footprintd answers on
# the bus, keeps sensing, says libvirt is not connected and, after 10 s,
# that libvirtd does not answer; once libvirtd continues, it connects.
# Everything is torn down, also on failure.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/vmlab.sh
. "$FP_SRCDIR/tests/lab/vmlab.sh"

LIBVIRTD_PID=
# Continued before the teardown stops it.
LAB_EXIT_HOOK='[ -z "$LIBVIRTD_PID" ] || kill -CONT "$LIBVIRTD_PID" 2>/dev/null'
lab_vm_traps
connected() { [ "$(lab_status_field libvirt_connected)" = True ]; }
hang_named() { lab_status_field libvirt_error | grep -q "no answer to the connection"; }
lab_flows() { fpctl flows --all --json | "$PY" -c 'import json,sys
print(sum(f["dport"] == 18080 for f in json.load(sys.stdin)))'; }

[ "$(id -u)" = 0 ] || lab_skip "needs root (libvirtd, network namespaces, BPF)"
vmlab_install_packages || lab_fail "cannot install libvirt (vmlab_install_packages)"
lab_setup
vmlab_start_libvirtd "$LAB_DIR/vm" || lab_fail "libvirtd did not start"
LIBVIRTD_PID=$(cat "$VMLAB_STATE/libvirtd.pid")
kill -STOP "$LIBVIRTD_PID"

# lab_start_agent fails unless the agent answers on the bus within 10 s.
lab_start_agent "[libvirt]" "uri=qemu:///system"
[ "$(lab_status_field libvirt_connected)" = False ] || lab_fail "connected to a stopped libvirtd?"
lab_bg ip netns exec fpB "$PY" "$FP_SRCDIR/tests/lib/mice.py" serve 18080
sleep 0.3
ip netns exec fpA "$PY" "$FP_SRCDIR/tests/lib/mice.py" run 10.201.2.2 18080 20 >/dev/null
sensed() { [ "$(lab_flows)" -ge 20 ]; }
lab_wait_for 10 sensed || lab_fail "no flows sensed while libvirtd hangs: $(lab_flows)"
echo "ok - the agent answers and senses while libvirtd hangs"
lab_wait_for 20 hang_named || lab_fail "the hang is not reported: $(lab_status_field libvirt_error)"
echo "ok - status says: $(lab_status_field libvirt_error)"

kill -CONT "$LIBVIRTD_PID"
lab_wait_for 30 connected || lab_fail "not connected after libvirtd continued: $(lab_status_field libvirt_error)"
[ -z "$(lab_status_field libvirt_error)" ] || lab_fail "error left after connecting: $(lab_status_field libvirt_error)"
echo "ok - connected once libvirtd continued"
lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(cat "$LAB_DIR/agent.log")"
echo "PASS: hung libvirtd"

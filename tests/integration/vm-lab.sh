#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Attribution end to end with a real libvirtd and real qemu TCG guests
# (tests/lab/vmlab.sh): a bulk guest's flow is an elephant attributed to its
# domain uuid, a chatty guest's short flows are mice attributed to it; a NIC
# hot-plugged into a running guest appears in `footprintctl vms`; libvirtd
# killed and restarted is survived with attribution intact; a destroyed
# guest's state is cleared.  Exit 77 naming the missing feature (tun,
# conntrack, BPF netfilter); everything is torn down, also on failure.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/vmlab.sh
. "$FP_SRCDIR/tests/lab/vmlab.sh"

BULK=fpt-bulk  BULK_IP=10.214.1.2 BULK_HOST=10.214.1.1 BULK_TAP=fpt-bulk0 BULK_PORT=5401
CHAT=fpt-chatty CHAT_IP=10.214.2.2 CHAT_HOST=10.214.2.1 CHAT_TAP=fpt-chat0 CHAT_PORT=5402
HP_TAP=fpt-hp0 HP_IP=10.214.3.2
T0=$(vmlab_now_ms)

lab_vm_traps

elapsed() { echo "$(( ($(vmlab_now_ms) - T0) / 1000 ))s"; }
ok() { echo "ok - $* ($(elapsed))"; }
vmcheck() { "$PY" "$FP_SRCDIR/tests/lib/vmcheck.py" "$@"; }
vms_json() { fpctl vms --json; }
flows_json() { fpctl flows --all --json "$@"; }
# until_ok SECONDS WHAT CHECK ARGS... < (re-run the listing each time)
vms_ok() { vms_json | vmcheck "$@" 2>"$LAB_DIR/why"; }
flows_ok() { flows_json | vmcheck "$@" 2>"$LAB_DIR/why"; }
why() { cat "$LAB_DIR/why" 2>/dev/null; }
connected() { [ "$(lab_status_field libvirt_connected)" = True ]; }
disconnected() { [ "$(lab_status_field libvirt_connected)" = False ]; }
reconnected() { connected && [ "$(lab_status_field libvirt_connects)" -ge 2 ]; }

lab_vm_setup "attribution needs"
lab_start_agent "[libvirt]" "uri=qemu:///system"
lab_wait_for 10 connected ||
    lab_fail "agent did not connect to libvirtd: $(lab_status_field libvirt_error)"
ok "agent connected to libvirtd"

# Short iperf3 runs, capped: each run is a new elephant and the TCG bulk
# guest leaves CPU to the chatty one.
export VMLAB_DUR=4 VMLAB_BULK_BW=60M
vmlab_define_guest "$BULK" "bulk:$BULK_PORT" "$BULK_IP" "$BULK_HOST" "$BULK_TAP" ||
    lab_fail "bulk guest did not boot"
vmlab_start_responder "$CHAT_PORT" 0 "$CHAT_HOST" || lab_fail "responder"
VMLAB_RATE=30 vmlab_define_guest "$CHAT" "chatty:$CHAT_PORT" "$CHAT_IP" "$CHAT_HOST" "$CHAT_TAP" ||
    lab_fail "chatty guest did not boot"
BULK_UUID=$(virsh domuuid "$BULK")
CHAT_UUID=$(virsh domuuid "$CHAT")
lab_wait_for 10 vms_ok vm-ready "$BULK" "$BULK_TAP" || lab_fail "bulk VM: $(why)"
lab_wait_for 10 vms_ok vm-ready "$CHAT" "$CHAT_TAP" || lab_fail "chatty VM: $(why)"
[ "$(vms_json | vmcheck uuid "$BULK")" = "$BULK_UUID" ] || lab_fail "bulk VM uuid differs from virsh's"
ok "footprintctl vms lists both guests with observable taps"

vmlab_start_iperf3_server "$BULK_PORT" "$BULK_HOST" || lab_fail "iperf3 server"
lab_wait_for 20 flows_ok elephant-of "$BULK_UUID" || lab_fail "bulk guest: $(why)"
flows_json --vm "$BULK" --elephants | vmcheck elephant-of "$BULK_UUID" ||
    lab_fail "flows --vm $BULK --elephants lacks the elephant"
flows_json --vm "$BULK_UUID" | vmcheck none-of "$CHAT_UUID" || lab_fail "flows --vm leaks other VMs"
ok "the bulk guest's flow is an elephant attributed to $BULK_UUID"

lab_wait_for 20 flows_ok mice-of "$CHAT_UUID" "$CHAT_PORT" 20 || lab_fail "chatty guest: $(why)"
lab_wait_for 5 vms_ok vm-stats "$CHAT" flows ge 20 || lab_fail "$(why)"
vms_ok vm-stats "$CHAT" elephants eq 0 || lab_fail "$(why)"
lab_wait_for 5 vms_ok vm-stats "$CHAT" tx_bps gt 1000 || lab_fail "$(why)"
vms_ok vm-stats "$BULK" elephants ge 1 || lab_fail "$(why)"
lab_wait_for 5 vms_ok vm-stats "$BULK" tx_bps gt 100000 || lab_fail "$(why)"
fpctl vms >&2
ok "the chatty guest's flows are mice attributed to $CHAT_UUID"

vmlab_hotplug_nic "$CHAT" "$HP_TAP" "$HP_IP" || lab_fail "hot-plug"
lab_wait_for 5 vms_ok vm-ready "$CHAT" "$CHAT_TAP" "$HP_TAP" || lab_fail "hot-plugged NIC: $(why)"
# vmlab_hotplug_nic pinged the guest through the new tap: host -> VM.
lab_wait_for 5 flows_ok to-vm "$CHAT_UUID" icmp || lab_fail "ping to the new NIC: $(why)"
ok "NIC hot-plugged into $CHAT listed, its traffic attributed"

QPIDS="$(vmlab_qemu_pid "$BULK") $(vmlab_qemu_pid "$CHAT")"
vmlab_kill_libvirtd || lab_fail "kill libvirtd"
lab_wait_for 10 disconnected ||
    lab_fail "agent did not notice libvirtd's death"
kill -0 "$LAB_AGENT_PID" || lab_fail "footprintd died with libvirtd"
vms_ok vm-ready "$BULK" "$BULK_TAP" || lab_fail "VMs forgotten while libvirtd is down: $(why)"
# A bulk run that starts while libvirtd is down is still attributed.
sleep $((VMLAB_DUR + 1))
lab_wait_for 10 flows_ok elephant-of "$BULK_UUID" || lab_fail "libvirtd down: $(why)"
ok "libvirtd killed (qemu $QPIDS alive): agent up, attribution intact"
vmlab_restart_libvirtd || lab_fail "restart libvirtd"
lab_wait_for 30 reconnected ||
    lab_fail "agent did not reconnect: $(lab_status_field libvirt_error)"
lab_wait_for 5 vms_ok vm-ready "$CHAT" "$CHAT_TAP" "$HP_TAP" || lab_fail "after resync: $(why)"
vms_ok vm-ready "$BULK" "$BULK_TAP" || lab_fail "after resync: $(why)"
lab_wait_for 15 flows_ok elephant-of "$BULK_UUID" || lab_fail "after reconnect: $(why)"
lab_wait_for 10 flows_ok mice-of "$CHAT_UUID" "$CHAT_PORT" 5 || lab_fail "after reconnect: $(why)"
ok "libvirtd restarted: reconnected and resynced, attribution intact"

vmlab_destroy_guest "$CHAT" || lab_fail "destroy $CHAT"
lab_wait_for 10 vms_ok vm-absent "$CHAT" || lab_fail "$(why)"
flows_ok none-of "$CHAT_UUID" || lab_fail "destroyed guest: $(why)"
if fpctl flows --vm "$CHAT" >/dev/null 2>"$LAB_DIR/err"; then lab_fail "flows --vm $CHAT still accepted"; fi
grep -q "no running VM named '$CHAT'" "$LAB_DIR/err" || lab_fail "flows --vm: $(cat "$LAB_DIR/err")"
vms_ok vm-ready "$BULK" "$BULK_TAP" || lab_fail "$(why)"
ok "destroyed guest's state cleared"

lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(tail -5 "$LAB_DIR/agent.log")"
grep -q "libvirt: connected to qemu:///system again" "$LAB_DIR/agent.log" || lab_fail "no reconnect in the log"
ok "clean stop"

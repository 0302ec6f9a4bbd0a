#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A domain whose job lock is held (here: its QEMU SIGSTOPped while a
# monitor command waits on it, as a hung QEMU) makes virDomainSetMetadata()
# wait up to 30 s, as long as systemd's watchdog gives the agent.  The
# write must not hold the agent: with the VM's class learnt and its write
# due, footprintd keeps sweeping and answering on the bus and logs the
# wait; it stops without waiting for the write; restarted, its write
# waits again, and once QEMU continues, the element is written.  Everything is torn down, also on
# failure.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/vmlab.sh
. "$FP_SRCDIR/tests/lab/vmlab.sh"

VM=fpj-idle VM_IP=10.216.1.2 VM_HOST=10.216.1.1 VM_TAP=fpj-idle0 VM_PORT=5421
NS=http://footprintd.org/xmlns/footprint/1.0
PIN_NS=http://footprintd.org/xmlns/footprint-pin/1.0
QEMU_PID= MONITOR_PID= PIN_PID=
# QEMU continues before the teardown destroys the domain.
LAB_EXIT_HOOK='[ -z "$QEMU_PID" ] || kill -CONT "$QEMU_PID" 2>/dev/null
[ -z "$MONITOR_PID" ] || kill "$MONITOR_PID" 2>/dev/null
[ -z "$PIN_PID" ] || kill "$PIN_PID" 2>/dev/null'
lab_vm_traps
class_learnt() {
    fpctl footprint "$VM" --json 2>/dev/null |
        "$PY" -c 'import json,sys; sys.exit(json.load(sys.stdin)["learned"] == "unknown")'
}
meta_written() { virsh metadata "$VM" --uri "$NS" 2>/dev/null | grep "class=" >/dev/null; }

lab_vm_setup "the held-job test needs"
vmlab_define_guest "$VM" "idle:$VM_PORT" "$VM_IP" "$VM_HOST" "$VM_TAP" ||
    lab_fail "guest did not boot"
QEMU_PID=$(pgrep -f "guest=$VM" | head -1)
[ -n "$QEMU_PID" ] || lab_fail "no QEMU process for $VM"
kill -STOP "$QEMU_PID"
# The monitor command takes the domain's job and waits for a QEMU that
# does not answer: every later job waits behind it.
timeout 120 virsh qemu-monitor-command --hmp "$VM" "info status" >/dev/null 2>&1 &
MONITOR_PID=$!
sleep 1
echo "ok - $VM's QEMU stopped with its job held"

lab_start_agent "[libvirt]" "uri=qemu:///system" \
    "[footprint]" "window=6" "short_window=2" "warmup=3" "switch_after=3"
lab_wait_for 20 class_learnt || lab_fail "no class learnt for $VM: $(fpctl footprint "$VM" 2>&1)"
echo "ok - $VM learnt as $(fpctl footprint "$VM" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["learned"])'): its metadata write is due"

# For 10 s the write waits on the job; the agent goes on.
sweeps0=$(lab_status_field sweeps)
for _ in $(seq 10); do
    sleep 1
    timeout 3 "$FP_BUILDDIR/src/footprintctl" status >/dev/null 2>&1 ||
        lab_fail "the agent did not answer within 3 s while the write waits"
done
sweeps1=$(lab_status_field sweeps)
[ "$sweeps1" -ge $((sweeps0 + 10)) ] ||
    lab_fail "sweeps stalled while the write waits: $sweeps0 -> $sweeps1"
meta_written && lab_fail "metadata written while the job is held?"
grep -q "VM '$VM': the metadata write waits for libvirt for 5 s" "$LAB_DIR/agent.log" ||
    lab_fail "the wait is not logged: $(tail -5 "$LAB_DIR/agent.log")"
echo "ok - the agent answers and sweeps ($sweeps0 -> $sweeps1) while the write waits, and says so"

# Stopped while its write waits, the agent does not wait for libvirt (the
# write would give up only after libvirt's 30 s).
t0=$(vmlab_now_ms)
lab_stop_agent || lab_fail "footprintd did not exit cleanly while its write waited"
stop_ms=$(($(vmlab_now_ms) - t0))
[ "$stop_ms" -lt 15000 ] || lab_fail "the stop waited for the write: ${stop_ms} ms"
grep -q "stopped; hooks detached" "$LAB_DIR/agent.log" || lab_fail "no clean stop in the log"
echo "ok - stopped in ${stop_ms} ms while the write waited"

# Restarted while the job is still held: the class comes from the state
# file, libvirt has no element yet, so the write is due at once and waits.
lab_start_agent "[libvirt]" "uri=qemu:///system" \
    "[footprint]" "window=6" "short_window=2" "warmup=3" "switch_after=3"
lab_wait_for 15 grep -q "VM '$VM': the metadata write waits for libvirt" "$LAB_DIR/agent.log" ||
    lab_fail "the restarted agent's write does not wait: $(tail -5 "$LAB_DIR/agent.log")"
echo "ok - restarted, its write waits again"

# The operator pins the VM meanwhile, with the pin element: their write
# waits for the same job as ours.  Whatever the order the two land in, the
# pin stays: footprintd never writes that element.
virsh metadata "$VM" --uri "$PIN_NS" --key pin --live --config \
    --set '<pin class="throughput"/>' >/dev/null 2>&1 &
PIN_PID=$!

kill -CONT "$QEMU_PID"
QEMU_PID=
wait "$MONITOR_PID" || true
MONITOR_PID=
lab_wait_for 15 meta_written || lab_fail "no metadata once QEMU continued: $(tail -5 "$LAB_DIR/agent.log")"
grep -q "VM '$VM': metadata written" "$LAB_DIR/agent.log" || lab_fail "no write in the agent log"
grep -q "VM '$VM': the metadata write waited [0-9]* s" "$LAB_DIR/agent.log" ||
    lab_fail "the end of the wait is not logged"
echo "ok - the element is written once QEMU continues"

wait "$PIN_PID" || lab_fail "virsh metadata --set of the pin element failed"
PIN_PID=
pinned() {
    fpctl footprint "$VM" --json 2>/dev/null |
        "$PY" -c 'import json,sys; sys.exit(json.load(sys.stdin)["pinned"] != "throughput")'
}
lab_wait_for 10 pinned || lab_fail "the pin element is not followed: $(fpctl footprint "$VM" 2>&1)"
sleep 2 # the agent's later writes (learnt figures) do not touch the pin
virsh metadata "$VM" --uri "$PIN_NS" 2>/dev/null | grep 'class="throughput"' >/dev/null ||
    lab_fail "the pin element was lost: $(virsh metadata "$VM" --uri "$PIN_NS" 2>&1)"
virsh metadata "$VM" --uri "$PIN_NS" --config 2>/dev/null | grep 'class="throughput"' >/dev/null ||
    lab_fail "the pin element was lost from the persistent definition"
echo "ok - a pin set while the agent's write waited is kept and followed"

lab_stop_agent || lab_fail "footprintd did not exit cleanly"
echo "ok - clean stop"

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# CPU separation with a real libvirtd, real qemu TCG guests
# (tests/lab/vmlab.sh) and the real footprintd in enforce mode:
#  - fp15-ele (throughput, 2 vCPUs, a 2-queue tap qemu made) sends an
#    elephant to a world beyond the host's uplink: its emulator threads go
#    to CPU 1 (the elephant set on this 2-CPU machine) and its tap's RPS and
#    XPS masks to CPU 1, its vCPUs stay;
#  - fp15-lat (latency) has every thread on CPU 0;
#  - fp15-pin (latency) was pinned by libvirt to CPU 1 (virsh emulatorpin
#    and vcpupin --live: <cputune> in its live XML): nothing of it moves, it
#    is never widened, libvirt's <cputune> is as it was, and footprintctl
#    tuning says it cannot move;
#  - footprintd SIGKILLed, then started in observe: every thread's
#    Cpus_allowed_list (/proc/PID/task/*/status) and every mask as found.
# Classes come from the operator's pin element, so that the test does not
# wait for the learner.  Exit 77 naming a missing kernel feature.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/vmlab.sh
. "$FP_SRCDIR/tests/lab/vmlab.sh"
# shellcheck source=../lib/world.sh
. "$FP_SRCDIR/tests/lib/world.sh"

WORLD_NS=fp15world WORLD_UP=fp15-up WORLD_IFB=fp15-ifb WORLD_IP=10.215.0.2 WORLD_UP_IP=10.215.0.1
LAT=fp15-lat LAT_IP=10.215.1.2 LAT_HOST=10.215.1.1 LAT_TAP=fp15-lat0
ELE=fp15-ele ELE_IP=10.215.2.2 ELE_HOST=10.215.2.1 ELE_TAP=fp15-ele0
PIN=fp15-pin PIN_IP=10.215.3.2 PIN_HOST=10.215.3.1 PIN_TAP=fp15-pin0
PIN_NS=http://footprintd.org/xmlns/footprint-pin/1.0
N=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }

[ "$(nproc --all)" -ge 2 ] || lab_skip "one CPU: nothing to split"
LAB_EXIT_HOOK=world_cleanup
lab_vm_traps
lab_vm_setup "CPU separation needs"
world_setup
export VMLAB_TARGET=$WORLD_IP VMLAB_ROUTE=10.215.0.0/24
vmlab_define_guest "$LAT" ping "$LAT_IP" "$LAT_HOST" "$LAT_TAP" || lab_fail "latency guest"
vmlab_define_guest "$ELE" server:5201 "$ELE_IP" "$ELE_HOST" "$ELE_TAP" 2 || lab_fail "elephant guest"
vmlab_define_guest "$PIN" idle "$PIN_IP" "$PIN_HOST" "$PIN_TAP" || lab_fail "pinned guest"
virsh emulatorpin "$PIN" 1 --live >/dev/null
for v in $(seq 0 $(($(virsh vcpucount "$PIN" --active --live) - 1))); do
    virsh vcpupin "$PIN" "$v" 1 --live >/dev/null
done
virsh dumpxml "$PIN" | grep "emulatorpin cpuset='1'" >/dev/null || lab_fail "libvirt did not pin $PIN"
for g in "$LAT:latency" "$ELE:throughput" "$PIN:latency"; do
    virsh metadata "${g%%:*}" --uri "$PIN_NS" --key pin --live --set "<pin class=\"${g#*:}\"/>" \
        >/dev/null || lab_fail "cannot pin ${g%%:*}'s class"
done
PID_LAT=$(vmlab_qemu_pid "$LAT") PID_ELE=$(vmlab_qemu_pid "$ELE") PID_PIN=$(vmlab_qemu_pid "$PIN")
rxq=("/sys/class/net/$ELE_TAP/queues"/rx-*)
[ "${#rxq[@]}" = 2 ] || lab_fail "$ELE_TAP has not 2 queues: ${rxq[*]}"

state() {
    local p t
    for p in "$PID_LAT" "$PID_ELE" "$PID_PIN"; do
        for t in /proc/"$p"/task/*; do
            printf '%s/%s %s: %s\n' "$p" "${t##*/}" "$(cat "$t/comm")" \
                "$(awk '/^Cpus_allowed_list/ {print $2}' "$t/status")"
        done
    done
    for t in "$LAT_TAP" "$ELE_TAP" "$PIN_TAP"; do
        # (A single-queue device has no xps_cpus: grep -s, and no failure.)
        (cd "/sys/class/net/$t/queues" && { grep -Hs . rx-*/rps_cpus tx-*/xps_cpus || true; }) |
            sed "s|^|$t/|"
    done
    virsh dumpxml "$PIN" | sed -n '/<cputune>/,/<\/cputune>/p'
}
cpus() { # PID COMM: Cpus_allowed_list of PID's threads named COMM
    local t
    for t in /proc/"$1"/task/*; do
        [ "$(cat "$t/comm")" = "$2" ] && awk '/^Cpus_allowed_list/ {print $2}' "$t/status"
    done | sort -u | paste -sd' '
}
all_cpus() { # PID: every thread's Cpus_allowed_list, distinct
    awk '/^Cpus_allowed_list/ {print $2}' /proc/"$1"/task/*/status | sort -u | paste -sd' '
}
as_cpu1() { [ $((16#${1//,/})) = 2 ]; }
state >"$LAB_DIR/before.txt"

lab_start_agent "[libvirt]" "uri=qemu:///system" "[tuning]" mode=enforce "egress=$WORLD_UP" \
    egress_rate_mbit=500
lab_wait_for 20 sh -c "'$FP_BUILDDIR/src/footprintctl' footprint $ELE 2>/dev/null | grep -q throughput" ||
    lab_fail "the pin element was not followed: $(fpctl footprint "$ELE")"
sleep 2
state >"$LAB_DIR/now.txt"
diff -u "$LAB_DIR/before.txt" "$LAB_DIR/now.txt" >&2 || lab_fail "CPUs split with no elephant"
ok "no elephant, no split"

ip netns exec "$WORLD_NS" iperf3 -c "$ELE_IP" -p 5201 -R -t 60 -b 100M >"$LAB_DIR/iperf.log" 2>&1 &
LAB_PIDS+=($!)
T0=$(vmlab_now_ms)
lab_wait_for 20 sh -c "[ \"\$(awk '/^Cpus_allowed_list/ {print \$2}' /proc/$PID_ELE/status)\" = 1 ]" ||
    lab_fail "the elephant's emulator thread was not moved: $(fpctl tuning)"
echo "# the elephant's emulator on CPU 1 $(($(vmlab_now_ms) - T0)) ms after the elephant started"
sleep 2 # the next sweeps: all of the plan applied
[ "$(awk '/^Cpus_allowed_list/ {print $2}' "/proc/$PID_ELE/status")" = 1 ] ||
    lab_fail "$ELE's emulator thread: $(grep Cpus_allowed_list "/proc/$PID_ELE/status")"
virsh emulatorpin "$ELE" | grep -E '\*: +1$' >/dev/null ||
    lab_fail "libvirt's view of $ELE's emulator pin is not CPU 1 (not pinned through libvirt?): $(virsh emulatorpin "$ELE")"
[ "$(cpus "$PID_ELE" "CPU 0/TCG")" = 0-1 ] || lab_fail "$ELE's vCPU moved (elephant_vcpus is false)"
for q in rx-0/rps_cpus rx-1/rps_cpus tx-0/xps_cpus tx-1/xps_cpus; do
    as_cpu1 "$(cat "/sys/class/net/$ELE_TAP/queues/$q")" ||
        lab_fail "$ELE_TAP $q: $(cat "/sys/class/net/$ELE_TAP/queues/$q")"
done
[ "$(awk '/^Cpus_allowed_list/ {print $2}' "/proc/$PID_LAT/status")" = 0 ] ||
    lab_fail "$LAT's emulator not on CPU 0: $(all_cpus "$PID_LAT")"
[ "$(cpus "$PID_LAT" "CPU 0/TCG")" = 0 ] || lab_fail "$LAT's vCPU not on CPU 0: $(all_cpus "$PID_LAT")"
ok "the elephant's emulator (through libvirt: virsh emulatorpin says 1) and its 2-queue tap's RPS/XPS on CPU 1, the latency guest on CPU 0"
diff <(grep "^$PID_PIN/\|^$PIN_TAP/\|cputune\|pin " "$LAB_DIR/before.txt") \
    <(state | grep "^$PID_PIN/\|^$PIN_TAP/\|cputune\|pin ") >&2 || lab_fail "$PIN changed"
# (libvirt pinned the main thread and the vCPUs; without a cgroup cpuset
# qemu's helper threads keep all CPUs: the diff above covers them.)
if [ "$(awk '/^Cpus_allowed_list/ {print $2}' "/proc/$PID_PIN/status")" != 1 ] ||
    [ "$(cpus "$PID_PIN" "CPU 0/TCG")" != 1 ]; then
    lab_fail "$PIN widened: $(all_cpus "$PID_PIN")"
fi
virsh emulatorpin "$PIN" | grep -E '\*: +1$' >/dev/null || lab_fail "libvirt's emulatorpin of $PIN: $(virsh emulatorpin "$PIN")"
fpctl tuning | grep "vm $PIN .*pinned so tightly" >/dev/null ||
    lab_fail "footprintctl tuning does not report $PIN: $(fpctl tuning)"
ok "the guest libvirt pinned to CPU 1 is never widened, libvirt's <cputune> as it was, and reported"

kill -KILL "$LAB_AGENT_PID"
wait "$LAB_AGENT_PID" 2>/dev/null || true
LAB_AGENT_PID=
state >"$LAB_DIR/now.txt"
diff -q "$LAB_DIR/before.txt" "$LAB_DIR/now.txt" >/dev/null && lab_fail "nothing in force at the crash"
lab_start_agent "[libvirt]" "uri=qemu:///system" "[tuning]" mode=observe "egress=$WORLD_UP" \
    egress_rate_mbit=500
# libvirt's pins go back once the inventory has its connection (a sweep or
# two, then the tuner's retry every 5 s).
lab_wait_for 15 sh -c "[ -z \"\$(ls '$LAB_DIR/state/tuning/' 2>/dev/null | grep entry)\" ]" ||
    lab_fail "journal left in observe: $(ls "$LAB_DIR/state/tuning/"; fpctl tuning)"
state >"$LAB_DIR/now.txt"
diff -u "$LAB_DIR/before.txt" "$LAB_DIR/now.txt" >&2 || lab_fail "observe after SIGKILL: not as found"
lab_stop_agent
ok "SIGKILL, then a restart in observe: every thread and mask as found"
echo "1..$N"

#!/bin/bash
# tests/lab/selftest.sh - end-to-end check of the VM lab (tests/lab/vmlab.sh):
# real libvirtd, two TCG guests (bulk iperf3 + chatty short connections)
# whose flows must show up in conntrack with byte counters, NIC hot-plug and
# unplug, libvirtd SIGKILL + restart with the guests surviving, teardown.
#
# Usage (root): bash tests/lab/selftest.sh
# Exit: 0 ok, 1 failure (with the reason), 77 skipped (missing kernel feature).
# Env: VMLAB_WORKDIR (default /tmp/footprintd-lab), VMLAB_KEEP=1 keeps the
# lab running at the end (no cleanup; `bash tests/lab/vmlab.sh cleanup`).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=vmlab.sh
. "$HERE/vmlab.sh"

W=${VMLAB_WORKDIR:-/tmp/footprintd-lab}
BULK=fpl-bulk   BULK_IP=10.213.1.2 BULK_HOST=10.213.1.1 BULK_TAP=fpl-bulk0 BULK_PORT=5301
CHAT=fpl-chatty CHAT_IP=10.213.2.2 CHAT_HOST=10.213.2.1 CHAT_TAP=fpl-chat0 CHAT_PORT=5302 CHAT_UPORT=5303
HP_TAP=fpl-hp0  HP_IP=10.213.3.2
MIB=$((1024 * 1024))

T_START=$(vmlab_now_ms)
TIMINGS=()
PASS=0
phase_t=$T_START
step() { # NAME: close the previous phase's timer and name the next
    local now; now=$(vmlab_now_ms)
    [ -n "${PHASE:-}" ] && TIMINGS+=("$(printf '%-34s %7.2f s' "$PHASE" "$(( now - phase_t ))e-3")")
    PHASE=$1 phase_t=$now
    [ "$1" = end ] || echo "== $1" >&2
}
ok()   { PASS=$((PASS + 1)); echo "   ok: $*" >&2; }
fail() { echo "SELFTEST FAIL: $*" >&2; exit 1; }

on_exit() {
    local rc=$?
    if [ "${VMLAB_KEEP:-0}" = 1 ] && [ "$rc" != 0 ]; then
        echo "VMLAB_KEEP=1: lab left running; clean up with: bash $HERE/vmlab.sh cleanup" >&2
    else
        vmlab_cleanup
    fi
    return "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Sum of the original-direction byte counters of conntrack lines on stdin.
sum_orig_bytes() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^bytes=/) { sub(/^bytes=/, "", $i); s += $i; break } } END { print s + 0 }'; }
bulk_flows()  { vmlab_flows -p tcp -s "$BULK_IP" -d "$BULK_HOST" --dport "$BULK_PORT"; }
chat_flows()  { vmlab_flows -p tcp -s "$CHAT_IP" -d "$CHAT_HOST" --dport "$CHAT_PORT"; }
chat_uflows() { vmlab_flows -p udp -s "$CHAT_IP" -d "$CHAT_HOST" --dport "$CHAT_UPORT"; }
bulk_bytes()  { bulk_flows | sum_orig_bytes; }
bulk_over_10m() { [ "$(bulk_bytes)" -gt $((10 * MIB)) ]; }
count_lines() { local n; n=$(grep -c . || true); echo "${n:-0}"; }
tap_rx()      { cat "/sys/class/net/$1/statistics/rx_bytes" 2>/dev/null || echo 0; }

step "packages"
vmlab_install_packages || fail "package installation"

step "host checks"
rc=0; vmlab_check_host || rc=$?
[ "$rc" = 0 ] || { [ "$rc" = 77 ] && { trap - EXIT; vmlab_cleanup; exit 77; }; fail "host check"; }
ACCT_BEFORE=$(sysctl -n net.netfilter.nf_conntrack_acct)
QCONF_BEFORE=$( [ -f /etc/libvirt/qemu.conf ] && md5sum < /etc/libvirt/qemu.conf || echo absent)

step "guest image"
vmlab_prepare_guest_image "$W/image" || fail "guest image"

step "conntrack setup"
vmlab_setup_conntrack || fail "conntrack setup"
[ "$(sysctl -n net.netfilter.nf_conntrack_acct)" = 1 ] || fail "nf_conntrack_acct not 1"
nft list table inet footprintd_lab >/dev/null || fail "nft table missing"
ok "nf_conntrack_acct=1, table inet footprintd_lab loaded"

step "libvirtd start"
vmlab_start_libvirtd "$W" || fail "libvirtd start"
ok "virsh version: $(virsh version 2>/dev/null | sed -n 's/^Running hypervisor: //p')"

# The bulk guest boots first: until the host's iperf3 server starts it only
# retries (cheap), so it does not slow the chatty guest's boot down.
step "bulk guest boot"
vmlab_define_guest "$BULK" "bulk:$BULK_PORT" "$BULK_IP" "$BULK_HOST" "$BULK_TAP" || fail "bulk guest"

step "chatty guest boot"
vmlab_start_responder "$CHAT_PORT" "$CHAT_UPORT" "$CHAT_HOST" || fail "responder"
vmlab_define_guest "$CHAT" "chatty:$CHAT_PORT" "$CHAT_IP" "$CHAT_HOST" "$CHAT_TAP" 2 || fail "chatty guest"
T_CHAT_UP=$(vmlab_now_ms)
[ -n "$(ip -d link show "$BULK_TAP" | grep -o 'tun type tap' || true)" ] || fail "$BULK_TAP is not a tap"
if [ -z "$(ip -d link show "$CHAT_TAP" | grep -o 'multi_queue numqueues 2 ' || true)" ] || [ ! -e "/sys/class/net/$CHAT_TAP/queues/tx-1" ]; then
    fail "$CHAT_TAP has not 2 active queues: $(ip -d link show "$CHAT_TAP" | grep -o 'multi_queue.*numdisabled [0-9]*' || true)"
fi
ok "taps $BULK_TAP (1 queue) and $CHAT_TAP (2 queues) exist"

step "bulk flow > 10 MiB"
vmlab_start_iperf3_server "$BULK_PORT" "$BULK_HOST" || fail "iperf3 server"
t0=$(vmlab_now_ms)
vmlab_wait_for 10 bulk_over_10m || {
    bulk_flows >&2; tail -n 5 "$W/$BULK.console.log" >&2
    fail "bulk guest: less than 10 MiB in conntrack after 10 s ($(bulk_bytes) bytes)"; }
T_BULK_10M=$(( $(vmlab_now_ms) - t0 ))
echo "   conntrack -L -o extended (bulk):" >&2; bulk_flows | sed 's/^/     /' >&2
ok "bulk: $(( $(bulk_bytes) / MIB )) MiB counted by conntrack, 10 MiB reached ${T_BULK_10M} ms after the server started"

step "chatty flows"
sleep 3
n1=$(chat_flows | count_lines); t1=$(vmlab_now_ms)
sleep 3
n2=$(chat_flows | count_lines); t2=$(vmlab_now_ms)
CHAT_RATE=$(awk -v a="$n1" -v b="$n2" -v x="$t1" -v y="$t2" 'BEGIN { printf "%.1f", (b - a) * 1000 / (y - x) }')
NU=$(chat_uflows | count_lines)
NSPORT=$(chat_flows | grep -o 'sport=[0-9]*' | sort -u | count_lines)
echo "   conntrack -L -o extended (chatty, first 3 of $n2 TCP + $NU UDP):" >&2
chat_flows | head -n 3 | sed 's/^/     /' >&2 || true
chat_uflows | head -n 1 | sed 's/^/     /' >&2 || true
[ "$n2" -ge 50 ] || fail "chatty: only $n2 TCP flows after $(( (t2 - T_CHAT_UP) / 1000 )) s"
[ "$NSPORT" -ge 50 ] || fail "chatty: only $NSPORT distinct source ports"
[ -n "$(chat_flows | grep -o 'bytes=[1-9]' | head -n 1 || true)" ] || fail "chatty: no byte counters"
[ "$NU" -ge 1 ] || fail "chatty: no UDP flow"
ok "chatty: $n2 TCP flows ($NSPORT source ports, $CHAT_RATE new/s), $NU UDP flows, with byte counters"

step "NIC hot-plug + unplug"
vmlab_hotplug_nic "$CHAT" "$HP_TAP" "$HP_IP" || fail "hotplug"
[ -e "/sys/class/net/$HP_TAP" ] || fail "$HP_TAP missing"
vmlab_guest_taps "$CHAT" | grep -qx "$HP_TAP" || fail "domiflist lacks $HP_TAP"
[ -n "$(vmlab_flows -p icmp -d "$HP_IP" | grep -o 'bytes=' | head -n 1 || true)" ] || fail "no conntrack entry for the ping to $HP_IP"
ok "tap $HP_TAP appeared, guest answers on $HP_IP, flow tracked"
vmlab_unplug_nic "$CHAT" "$HP_TAP" || fail "unplug"
ok "tap $HP_TAP gone after unplug"

step "libvirtd kill + restart"
QPIDS="$(vmlab_qemu_pid "$BULK") $(vmlab_qemu_pid "$CHAT")"
vmlab_kill_libvirtd || fail "kill libvirtd"
! timeout 5 virsh version >/dev/null 2>&1 || fail "virsh still answers after SIGKILL"
for p in $QPIDS; do kill -0 "$p" || fail "qemu $p died with libvirtd"; done
r0=$(tap_rx "$BULK_TAP"); sleep 1; r1=$(tap_rx "$BULK_TAP")
[ "$r1" -gt "$r0" ] || fail "bulk traffic stopped while libvirtd was down"
ok "libvirtd killed; qemu $QPIDS alive, bulk traffic flowing ($(( (r1 - r0) * 8 / 1000000 )) Mbit/s)"
vmlab_restart_libvirtd || fail "restart libvirtd"
LIST=$(virsh list --name)
for d in "$BULK" "$CHAT"; do
    grep -qx "$d" <<<"$LIST" || fail "virsh list lacks $d after the restart"
    [ "$(virsh domstate "$d")" = running ] || fail "$d not running after the restart"
done
ok "after restart virsh list shows: $(echo "$LIST" | xargs)"

step "destroy guests"
vmlab_destroy_guest "$BULK" || fail "destroy $BULK"
vmlab_destroy_guest "$CHAT" || fail "destroy $CHAT"
for t in "$BULK_TAP" "$CHAT_TAP"; do [ ! -e "/sys/class/net/$t" ] || fail "$t still exists"; done
[ -z "$(virsh list --all --name | grep -x -e "$BULK" -e "$CHAT" || true)" ] || fail "domains still defined"
ok "domains gone, taps gone"

step "cleanup"
vmlab_cleanup
! nft list table inet footprintd_lab >/dev/null 2>&1 || fail "nft table still there"
[ "$(sysctl -n net.netfilter.nf_conntrack_acct)" = "$ACCT_BEFORE" ] || fail "nf_conntrack_acct not restored"
[ "$( [ -f /etc/libvirt/qemu.conf ] && md5sum < /etc/libvirt/qemu.conf || echo absent)" = "$QCONF_BEFORE" ] || fail "qemu.conf not restored"
! timeout 5 virsh version >/dev/null 2>&1 || fail "libvirtd still running"
[ -z "$(vmlab_flows -s "$CHAT_IP")$(vmlab_flows -s "$BULK_IP")" ] || fail "lab conntrack entries left"
[ ! -d "${VMLAB_STATE}" ] || fail "state dir $VMLAB_STATE left: $(ls "$VMLAB_STATE")"
ok "nft table, sysctl, qemu.conf, daemons, conntrack entries: all restored"

step end
echo "== timings" >&2
printf '   %s\n' "${TIMINGS[@]}" >&2
printf '   %-34s %7.2f s\n' "total" "$(( $(vmlab_now_ms) - T_START ))e-3" >&2
echo "lab selftest: $PASS passed, 0 failed"

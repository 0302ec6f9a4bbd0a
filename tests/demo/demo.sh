#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The built-in demo: footprintd on real VMs.  A real libvirtd starts two
# small qemu TCG guests (tests/lab/vmlab.sh): "demo-bulk" streams iperf3 to
# the host (an elephant), "demo-chatty" makes dozens of short connections a
# second (mice).  footprintctl shows both guests, their flows attributed
# and classified, live; then everything is torn down (guests, libvirtd,
# nftables table, sysctls).  DEMO_SECONDS (default 12) sets the live part.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/vmlab.sh
. "$FP_SRCDIR/tests/lab/vmlab.sh"
DUR=${DEMO_SECONDS:-12}
BULK=demo-bulk CHAT=demo-chatty

on_exit() {
    local rc=$?
    set +e
    echo
    echo "== tearing down: agent, guests, libvirtd, nftables table, sysctls"
    lab_stop_agent
    vmlab_cleanup
    lab_cleanup
    return "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
t0=$(vmlab_now_ms)
since() { echo "$(( ($(vmlab_now_ms) - t0) / 1000 ))s"; }

vmlab_install_packages || lab_fail "cannot install the VM lab packages"
rc=0
vmlab_check_host || rc=$?
[ "$rc" = 0 ] || lab_fail "this host cannot run the VM lab (see above)"
lab_begin
lab_start_bus
export VMLAB_WORKDIR=$LAB_DIR/vm VMLAB_DUR=5 VMLAB_BULK_BW=80M VMLAB_RATE=30
echo "== preparing: guest image, conntrack rules, libvirtd"
vmlab_prepare_guest_image /var/cache/footprintd-lab/image 2>/dev/null || lab_fail "guest image"
vmlab_setup_conntrack || lab_fail "conntrack setup"
vmlab_start_libvirtd "$VMLAB_WORKDIR" 2>/dev/null || lab_fail "libvirtd"
# Short learning windows so that the classes settle within the demo.
lab_start_agent "[libvirt]" "uri=qemu:///system" \
    "[footprint]" "window=6" "short_window=2" "warmup=3" "switch_after=3"
echo "== footprintd running ($(since)): $(fpctl status | grep -E '^backend ' | sed 's/  */ /g')"

echo "== booting two qemu TCG guests"
vmlab_define_guest "$BULK" bulk:5301 10.213.1.2 10.213.1.1 demo-bulk0 || lab_fail "bulk guest"
vmlab_start_responder 5302 5303 10.213.2.1 || lab_fail "responder"
vmlab_define_guest "$CHAT" chatty:5302 10.213.2.2 10.213.2.1 demo-chat0 || lab_fail "chatty guest"
vmlab_start_iperf3_server 5301 10.213.1.1 || lab_fail "iperf3 server"
echo "== guests up ($(since)); traffic starts"

for ((t = 3; t <= DUR; t += 3)); do
    sleep 3
    echo
    echo "== t=${t}s  footprintctl vms"
    fpctl vms
    echo "-- footprintctl flows --elephants"
    fpctl flows --elephants | cut -c1-200
    echo "-- footprintctl flows --vm $CHAT: $(fpctl flows --vm "$CHAT" --json | grep -c '"dport" : 5302') short TCP flows live, the 3 newest:"
    fpctl flows --vm "$CHAT" | grep ':5302 ' | tail -3 | cut -c1-200
    echo "-- footprints (footprintctl footprint VM)"
    for vm in "$BULK" "$CHAT"; do fpctl footprint "$vm" | head -3; done
done
echo
echo "== footprintctl explain $CHAT"
fpctl explain "$CHAT"
echo
echo "== footprintctl vms --json (one VM)"
fpctl vms --json | "$PY" -c 'import json, sys; print(json.dumps(json.load(sys.stdin)[0], indent=2))'
echo
echo "== agent log: inventory events and elephants"
grep -E 'libvirt:|elephant:' "$LAB_DIR/agent.log" | sed 's/^footprintd-Message: //' | head -12
echo "== done in $(since)"

#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# When nothing loads conntrack for the traffic, footprintd says so instead
# of reporting nothing; once a conntrack rule exists, the warning goes and
# flows appear.  The agent runs in its own network namespace (fpR), where
# no rule loads conntrack until the test adds one: the host's rules and
# other labs cannot interfere.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
cleanup() {
    ip netns pids fpR 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns pids fpS 2>/dev/null | xargs -r kill 2>/dev/null
    lab_cleanup
    ip netns del fpR 2>/dev/null
    ip netns del fpS 2>/dev/null
    return 0
}
trap cleanup EXIT

lab_require_kernel
lab_begin
lab_require_bpf_backend "the no-conntrack test needs"
lab_start_bus
ip netns del fpR 2>/dev/null || true
ip netns del fpS 2>/dev/null || true
ip netns add fpR
ip netns add fpS
ip -n fpR link add eth0 type veth peer name eth0 netns fpS
ip -n fpR addr add 10.202.0.1/24 dev eth0
ip -n fpS addr add 10.202.0.2/24 dev eth0
for ns in fpR fpS; do ip -n $ns link set eth0 up; ip -n $ns link set lo up; done

lab_flows() {
    fpctl flows --all --json | "$PY" -c 'import json,sys
print(sum(f["src"] == "10.202.0.2" for f in json.load(sys.stdin)))'
}

LAB_AGENT_NETNS=fpR lab_start_agent
lab_bg ip netns exec fpR iperf3 -s -p 15301
sleep 0.3
ip netns exec fpS iperf3 -c 10.202.0.1 -p 15301 -t 1 >/dev/null
warned() { lab_status_field conntrack_warning | grep -q "without a conntrack entry"; }
lab_wait_for 5 warned || lab_fail "no warning: $(fpctl status)"
[ "$(lab_status_field conntrack_active)" = False ] || lab_fail "conntrack reported active"
[ "$(lab_flows)" = 0 ] || lab_fail "flows listed without conntrack"
echo "ok - untracked traffic reported: $(lab_status_field conntrack_warning)"

ip netns exec fpR nft -f - <<'NFT'
table inet fp_nct {
    chain input { type filter hook input priority 0; ct state new,established counter accept; }
}
NFT
ip netns exec fpS iperf3 -c 10.202.0.1 -p 15301 -t 1 >/dev/null
tracked() { [ "$(lab_status_field conntrack_active)" = True ] && [ "$(lab_flows)" -gt 0 ]; }
lab_wait_for 5 tracked || lab_fail "flows not seen once conntrack is loaded: $(fpctl status)"
[ -z "$(lab_status_field conntrack_warning)" ] || lab_fail "warning stayed: $(lab_status_field conntrack_warning)"
echo "ok - with a ct rule the warning goes and $(lab_flows) flows appear"
lab_stop_agent || lab_fail "footprintd did not exit cleanly"

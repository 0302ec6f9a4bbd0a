#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A VM's tap on a Linux bridge is observable only when br_netfilter hands
# both IPv4 and IPv6 bridged traffic to the IP hooks, where conntrack (and
# footprintd) see it: bridge-nf-call-iptables=1 *and*
# bridge-nf-call-ip6tables=1.  With the IPv6 one off, the VM's bridged IPv6
# traffic bypasses conntrack and the interface must be reported not
# observable, saying why (checking bridge-nf-call-iptables alone reported
# it observable).  A real bridge with a real port in a network namespace of
# this test's own, whose br_netfilter sysctls are its own (the host's are
# checked untouched); fp-visibility asks inventory.c as the agent does.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
NS=fp17vis
N=0
ok() {
    N=$((N + 1))
    echo "ok $N - $*"
}
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
ip netns add "$NS" 2>/dev/null || skip "kernel without network namespaces"
trap 'ip netns del "$NS" 2>/dev/null' EXIT
in_ns() { ip netns exec "$NS" "$@"; }
in_ns test -e /proc/sys/net/bridge/bridge-nf-call-ip6tables ||
    skip "br_netfilter is not loaded, or its sysctls are not per network namespace (Linux >= 5.3); loading it would change how the host's own bridges filter"
in_ns ip link add fp17br type bridge || skip "kernel without bridges"
in_ns ip link add fp17tap type veth peer name fp17peer
in_ns ip link set fp17tap master fp17br
in_ns ip link add fp17routed type veth peer name fp17rpeer
host_before=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables)

visibility() { in_ns "$FP_BUILDDIR/tests/integration/fp-visibility" "$@"; }
nf() { # IPTABLES IP6TABLES: the namespace's br_netfilter switches
    in_ns sysctl -qw net.bridge.bridge-nf-call-iptables="$1" net.bridge.bridge-nf-call-ip6tables="$2"
}

nf 1 1
out=$(visibility fp17tap fp17routed)
[ "$out" = $'fp17tap observable\nfp17routed observable' ] || fail "both on: $out"
ok "a bridge port with br_netfilter for IPv4 and IPv6 is observable, a routed device too"

nf 1 0
out=$(visibility fp17tap fp17routed)
grep -x "fp17tap not-observable: port of bridge 'fp17br' with br_netfilter for IPv4 only (bridge-nf-call-ip6tables=0): bridged IPv6 traffic bypasses conntrack" \
    <<<"$out" >/dev/null || fail "IPv6 off: $out"
grep -x "fp17routed observable" <<<"$out" >/dev/null || fail "IPv6 off, routed: $out"
ok "without bridge-nf-call-ip6tables the port is not observable, and says why"

nf 0 1
out=$(visibility fp17tap)
grep "^fp17tap not-observable: port of bridge 'fp17br' without br_netfilter (bridge-nf-call-iptables=0)" \
    <<<"$out" >/dev/null || fail "IPv4 off: $out"
ok "without bridge-nf-call-iptables the port is not observable"

[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables)" = "$host_before" ] ||
    fail "the host's br_netfilter switches changed"
ok "the host's own switches are untouched"
echo "1..$N"

# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# The netns lab for footprintd's privileged tests and demo: two network
# namespaces routed through the host, an nftables table that makes
# conntrack track them, a private system bus, and the agent.  Everything it
# changes is undone by lab_cleanup, also after a failure (trap it).
#
#   fpA (10.201.1.2, fd00:201:1::2) -- fpa-h | host | fpb-h -- fpB (10.201.2.2, fd00:201:2::2)
#
# Needs: FP_BUILDDIR (built tree), FP_SRCDIR (source tree).

LAB_DIR=${LAB_DIR:-}
LAB_ACTIVE=0
LAB_PIDS=()
LAB_SAVED_SYSCTLS=()
PY=/usr/bin/python3

lab_log() { echo "# [$(date +%T)] $*" >&2; }
lab_fail() { echo "FAIL: $*" >&2; exit 1; }
lab_skip() { echo "SKIP: $*" >&2; exit 77; }

# lab_require_kernel: exit 77 naming the missing kernel feature.
lab_require_kernel() {
    [ "$(id -u)" = 0 ] || lab_skip "needs root (network namespaces, BPF, nftables)"
    ip netns add fp-probe-$$ 2>/dev/null || lab_skip "kernel without network namespaces"
    ip netns del fp-probe-$$
    ip link add fp-probe-$$ type veth peer name fp-probe-p$$ 2>/dev/null ||
        lab_skip "kernel without veth"
    ip link del fp-probe-$$
    modprobe nf_conntrack 2>/dev/null || true
    [ -e /proc/sys/net/netfilter/nf_conntrack_acct ] || lab_skip "kernel without nf_conntrack"
    command -v nft >/dev/null || lab_fail "nft missing (apt-get install nftables)"
    command -v iperf3 >/dev/null || lab_fail "iperf3 missing (apt-get install iperf3)"
    command -v ping >/dev/null || lab_fail "ping missing (apt-get install iputils-ping)"
    command -v conntrack >/dev/null || lab_fail "conntrack missing (apt-get install conntrack)"
    [ -x "$PY" ] || lab_fail "$PY missing (apt-get install python3)"
}

# lab_require_bpf_backend WHO-NEEDS: exit 77 when the kernel lacks what the
# BPF backend needs (BTF, BPF netfilter programs: Linux >= 6.4, conntrack's
# BTF); fail when it has all that and still refuses footprintd's program
# (a verifier rejection is a defect, not a missing feature).
lab_require_bpf_backend() {
    local probe
    probe=$("$FP_BUILDDIR/src/footprintd" --probe 2>&1) || true
    grep -q "^BPF netfilter programs (Linux >= 6.4): yes" <<<"$probe" && return 0
    grep -q "^kernel BTF: yes" <<<"$probe" ||
        lab_skip "$1 kernel BTF (CONFIG_DEBUG_INFO_BTF): $probe"
    grep -q "^kernel BPF netfilter program type: yes" <<<"$probe" ||
        lab_skip "$1 BPF netfilter programs (Linux >= 6.4): $probe"
    grep -q "no BTF for conntrack's types" <<<"$probe" &&
        lab_skip "$1 BTF for conntrack's types: $probe"
    lab_fail "the kernel has BPF netfilter programs but refused footprintd's: $probe"
}

lab_save_sysctl() { # NAME VALUE
    LAB_SAVED_SYSCTLS+=("$1=$(sysctl -n "$1")")
    sysctl -qw "$1=$2"
}

lab_cleanup() {
    set +e
    [ "$LAB_ACTIVE" = 1 ] || return 0
    lab_stop_agent
    for p in "${LAB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${LAB_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    ip netns pids fpA 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns pids fpB 2>/dev/null | xargs -r kill 2>/dev/null
    ip netns del fpA 2>/dev/null
    ip netns del fpB 2>/dev/null
    ip link del fpa-h 2>/dev/null
    ip link del fpb-h 2>/dev/null
    nft delete table inet footprintd_test 2>/dev/null
    [ -n "${LAB_BG_FILLED:-}" ] && lab_background_clear
    conntrack -D -s 10.201.0.0/16 >/dev/null 2>&1
    conntrack -D -d 10.201.0.0/16 >/dev/null 2>&1
    conntrack -D -f ipv6 -s fd00:201::/32 >/dev/null 2>&1
    conntrack -D -f ipv6 -d fd00:201::/32 >/dev/null 2>&1
    local i
    for ((i = ${#LAB_SAVED_SYSCTLS[@]} - 1; i >= 0; i--)); do
        sysctl -qw "${LAB_SAVED_SYSCTLS[$i]}"
    done
    [ -n "$LAB_DIR" ] && [ -z "${LAB_KEEP:-}" ] && rm -rf "$LAB_DIR"
    LAB_ACTIVE=0
    exec 9>&-
}

# lab_begin: take the host-wide lab lock and make LAB_DIR.  Every lab
# (netns or VM) takes it: they share conntrack, sysctls and the bus name.
lab_begin() {
    exec 9>/run/footprintd-lab.lock
    flock -w 600 9 || lab_fail "another lab holds /run/footprintd-lab.lock"
    LAB_ACTIVE=1
    LAB_DIR=$(mktemp -d /tmp/footprintd-lab.XXXXXX)
}

# lab_setup: namespaces, routes, conntrack rules, a private system bus.
lab_setup() {
    lab_require_kernel
    lab_begin
    ip netns del fpA 2>/dev/null || true
    ip netns del fpB 2>/dev/null || true
    ip link del fpa-h 2>/dev/null || true
    ip link del fpb-h 2>/dev/null || true
    local n
    for n in A B; do
        local ns=fp$n h=fp${n,,}-h i
        i=$([ $n = A ] && echo 1 || echo 2)
        ip netns add $ns
        ip link add $h type veth peer name eth0 netns $ns
        ip addr add 10.201.$i.1/24 dev $h
        ip -6 addr add fd00:201:$i::1/64 dev $h nodad
        ip link set $h up
        ip -n $ns addr add 10.201.$i.2/24 dev eth0
        ip -n $ns -6 addr add fd00:201:$i::2/64 dev eth0 nodad
        ip -n $ns link set eth0 up
        ip -n $ns link set lo up
        ip -n $ns route add default via 10.201.$i.1
        ip -n $ns -6 route add default via fd00:201:$i::1
    done
    lab_save_sysctl net.ipv4.ip_forward 1
    lab_save_sysctl net.ipv6.conf.all.forwarding 1
    # UDP flows then end on their own within the test (destroy events).
    lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout 5
    lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout_stream 5
    nft -f - <<'NFT'
table inet footprintd_test {
    chain input { type filter hook input priority 0; ip saddr 10.201.0.0/16 ct state new,established,related counter accept; ip6 saddr fd00:201::/32 ct state new,established,related counter accept; }
    chain forward { type filter hook forward priority 0; ct state new,established,related counter accept; }
    chain output { type filter hook output priority 0; ct state new,established,related counter accept; }
}
NFT
    lab_start_bus
}

# lab_bus_conf SOCKET POLICY: a private system bus's config, listening on
# SOCKET, open to all, with footprintd's POLICY file included.
lab_bus_conf() {
    cat <<BUS
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$1</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
  <include>$2</include>
</busconfig>
BUS
}

lab_start_bus() {
    lab_bus_conf "$LAB_DIR/system_bus_socket" "$FP_SRCDIR/conf/org.footprintd.Footprint1.conf" \
        >"$LAB_DIR/bus.conf"
    # LAB_BUS_PREFIX: a program that runs the bus for the test (e.g. in a
    # private mount namespace with the test's own users and groups).
    ${LAB_BUS_PREFIX:+"$LAB_BUS_PREFIX"} dbus-daemon --config-file="$LAB_DIR/bus.conf" \
        --nofork --nopidfile >"$LAB_DIR/bus.log" 2>&1 &
    LAB_PIDS+=($!)
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$LAB_DIR/system_bus_socket"
    local i
    for i in $(seq 100); do [ -S "$LAB_DIR/system_bus_socket" ] && return 0; sleep 0.05; done
    lab_fail "private dbus-daemon did not start: $(cat "$LAB_DIR/bus.log")"
}

# lab_start_agent [CONF-LINES...]: footprintd with a lab config; waits
# until it answers on the bus.
lab_start_agent() {
    {
        echo "[agent]"
        echo "runtime_dir=$LAB_DIR/run"
        echo "state_dir=$LAB_DIR/state"
        echo "sweep_interval_ms=${LAB_SWEEP_MS:-500}"
        echo "[sense]"
        echo "backend=${LAB_BACKEND:-auto}"
        printf '%s\n' "$@"
    } > "$LAB_DIR/footprintd.conf"
    # LAB_AGENT_NETNS: run the agent inside that network namespace.
    ${LAB_AGENT_NETNS:+ip netns exec "$LAB_AGENT_NETNS"} \
        "$FP_BUILDDIR/src/footprintd" --config "$LAB_DIR/footprintd.conf" \
        >"$LAB_DIR/agent.log" 2>&1 &
    LAB_AGENT_PID=$!
    local i
    for i in $(seq 200); do
        if fpctl status >/dev/null 2>&1; then return 0; fi
        kill -0 $LAB_AGENT_PID 2>/dev/null || lab_fail "footprintd exited: $(cat "$LAB_DIR/agent.log")"
        sleep 0.05
    done
    lab_fail "footprintd did not answer on the bus: $(cat "$LAB_DIR/agent.log")"
}

lab_stop_agent() {
    [ -n "${LAB_AGENT_PID:-}" ] || return 0
    kill -TERM "$LAB_AGENT_PID" 2>/dev/null
    local rc=0
    wait "$LAB_AGENT_PID" || rc=$?
    LAB_AGENT_PID=
    return $rc
}

fpctl() { "$FP_BUILDDIR/src/footprintctl" "$@"; }

# For the benchmarks (tests/perf/).
# lab_prog_id NAME: the id of the loaded BPF program NAME.
lab_prog_id() {
    bpftool prog show name "$1" --json | "$PY" -c \
        'import json,sys; d=json.load(sys.stdin); d=d if isinstance(d,list) else [d]; print(d[0]["id"])'
}
# lab_empty_hook PRIORITY [SPACERS]: the empty netfilter program
# (tests/perf/fp-empty-hook) linked at our hooks; sets LAB_EMPTY_ID and
# LAB_EMPTY_PID (the holder: kill it to unlink).
lab_empty_hook() {
    "$FP_BUILDDIR/tests/perf/fp-empty-hook" "$@" >"$LAB_DIR/empty.out" &
    LAB_EMPTY_PID=$!
    LAB_PIDS+=("$LAB_EMPTY_PID")
    lab_wait_for 10 test -s "$LAB_DIR/empty.out" || lab_fail "fp-empty-hook did not start"
    # shellcheck disable=SC2034 # read by the benchmark that sources this
    read -r LAB_EMPTY_ID _ <"$LAB_DIR/empty.out"
}
# lab_bulk_then_mice SIZE MICE: one iperf3 flow of SIZE from fpA to fpB's
# iperf3 server on 15201, then MICE short connections to fpB's mice server
# on 18080 (none when 0).
lab_bulk_then_mice() {
    ip netns exec fpA iperf3 -c 10.201.2.2 -p 15201 -n "$1" >/dev/null
    [ "$2" = 0 ] || ip netns exec fpA "$PY" "$FP_SRCDIR/tests/lib/mice.py" \
        run 10.201.2.2 18080 "$2" >/dev/null
}

# lab_status_field NAME: one field of `footprintctl status --json`.
lab_status_field() {
    fpctl status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# lab_bg CMD...: run in the background, killed by lab_cleanup.
lab_bg() { "$@" >>"$LAB_DIR/bg.log" 2>&1 & LAB_PIDS+=($!); }

# lab_wait_for SECONDS CMD...: poll CMD every 0.1 s.
# lab_births DEVICE SIDE: flow births the lab agent's kernel program
# counted on DEVICE (bpf/fp_devstats.bpf.h; SIDE 0: first packets in on
# it, 1: out through it), summed over the CPUs.  The map is found among the
# agent's own file descriptors, not by name: another footprintd (a
# service, another lab) has a map of that name too.
lab_births() {
    local fd id=
    for fd in /proc/"$LAB_AGENT_PID"/fdinfo/*; do
        local m
        m=$(awk '$1 == "map_id:" { print $2 }' "$fd" 2>/dev/null)
        [ -n "$m" ] || continue
        if bpftool map show id "$m" 2>/dev/null | grep -E "name fp_devstats( |$)" >/dev/null; then
            id=$m
            break
        fi
    done
    [ -n "$id" ] || { echo "lab_births: the agent (pid $LAB_AGENT_PID) has no fp_devstats map" >&2; echo -1; return 1; }
    bpftool map dump id "$id" -j | "$PY" -c 'import json,sys
ifindex, side = int(sys.argv[1]), int(sys.argv[2])
# With BTF, bpftool puts the typed entry under "formatted".
entries = [e.get("formatted", e) for e in json.load(sys.stdin)]
print(sum(v["value"]["births"][side] for e in entries
          if int(e["key"]) == ifindex for v in e["values"]))' "$(cat /sys/class/net/"$1"/ifindex)" "$2"
}

# lab_free_port: a TCP port on the loopback that nothing listens on now.
lab_free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

lab_wait_for() {
    local t=$1; shift
    local end=$(($(date +%s) + t))
    until "$@"; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# ---- VM labs (tests/lab/vmlab.sh must be sourced too) ----------------------

# lab_vm_exit: the EXIT trap of the VM labs.  On failure it shows the
# agent's log tail; then agent, guests, libvirtd and the lab are undone.
# LAB_EXIT_HOOK, when set, is evaluated first (e.g. to stop a monitor).
lab_vm_exit() {
    local rc=$?
    set +e
    [ -n "${LAB_EXIT_HOOK:-}" ] && eval "$LAB_EXIT_HOOK"
    if [ "$rc" != 0 ] && [ -n "${LAB_DIR:-}" ] && [ -f "$LAB_DIR/agent.log" ]; then
        echo "# agent log (tail):" >&2
        tail -n 30 "$LAB_DIR/agent.log" | sed 's/^/#   /' >&2
    fi
    lab_stop_agent
    vmlab_cleanup
    lab_cleanup
    return "$rc"
}

lab_vm_traps() {
    trap lab_vm_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# lab_vm_setup WHO-NEEDS: preconditions (exit 77 naming a missing kernel
# feature; WHO-NEEDS completes "... the BPF netfilter backend's devices"),
# then the lab lock, a private bus, the guest image, conntrack rules and
# libvirtd, with VMLAB_WORKDIR under LAB_DIR.
lab_vm_setup() {
    local rc=0 probe
    [ "$(id -u)" = 0 ] || lab_skip "needs root (libvirtd, tap devices, BPF)"
    vmlab_install_packages || lab_fail "cannot install the VM lab packages"
    vmlab_check_host || rc=$?
    [ "$rc" = 77 ] && lab_skip "VM lab: kernel feature missing (see the vmlab SKIP line above: tun/tap or nftables conntrack)"
    [ "$rc" = 0 ] || lab_fail "VM lab host check failed"
    lab_require_bpf_backend "$1 the BPF netfilter backend's devices:"
    lab_begin
    lab_start_bus
    export VMLAB_WORKDIR=$LAB_DIR/vm
    vmlab_prepare_guest_image /var/cache/footprintd-lab/image >/dev/null || lab_fail "guest image"
    vmlab_setup_conntrack || lab_fail "conntrack setup"
    vmlab_start_libvirtd "$VMLAB_WORKDIR" || lab_fail "libvirtd"
}

# lab_background_fill N: N quiet conntrack entries in the host's table, as
# on a compute node with many idle connections: one UDP datagram per
# (source port, destination port) pair from the netns fpbg (10.216.0.2)
# to the host (10.216.0.1), sent by tests/perf/fp-scale-flows.  The
# table's limit, hash size and UDP timeouts are raised for the lab and put
# back at exit (lab_save_sysctl); the entries are deleted at exit too.
# Call after lab_begin.  Sets LAB_BG_FILLED to the entries conntrack holds.
lab_background_fill() {
    local n=$1 flows=$FP_BUILDDIR/tests/perf/fp-scale-flows ports=1000 sockets buckets
    [ -x "$flows" ] || lab_fail "$flows missing: make -C tests fp-scale-flows (make check builds it)"
    [ "$n" -lt "$ports" ] && ports=$n
    sockets=$(((n + ports - 1) / ports))
    LAB_BG_FILLED=0
    lab_save_sysctl net.netfilter.nf_conntrack_max $((n + n / 2 + 65536))
    buckets=$(sysctl -n net.netfilter.nf_conntrack_buckets)
    [ "$buckets" -ge $((n / 4)) ] || lab_save_sysctl net.netfilter.nf_conntrack_buckets $((n / 4))
    lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout 3600
    lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout_stream 3600
    ip netns del fpbg 2>/dev/null || true
    ip link del fpbg-h 2>/dev/null || true
    ip netns add fpbg
    ip link add fpbg-h type veth peer name eth0 netns fpbg
    ip addr add 10.216.0.1/30 dev fpbg-h
    ip link set fpbg-h up
    ip -n fpbg addr add 10.216.0.2/30 dev eth0
    ip -n fpbg link set eth0 up
    lab_log "background: $sockets x $ports quiet flows"
    ip netns exec fpbg "$flows" fill 10.216.0.1 "$sockets" "$ports" >&2 ||
        lab_fail "fp-scale-flows could not fill the background"
    LAB_BG_FILLED=$(conntrack -C)
    lab_log "background: conntrack holds $LAB_BG_FILLED entries"
}

# lab_background_clear: undo lab_background_fill (lab_cleanup calls it).
lab_background_clear() {
    ip netns del fpbg 2>/dev/null
    ip link del fpbg-h 2>/dev/null
    conntrack -D -s 10.216.0.2 >/dev/null 2>&1
    return 0
}

# lab_elephant_listed PORT: the agent lists an elephant to PORT
# (`footprintctl flows --elephants`).
lab_elephant_listed() {
    fpctl flows --json --elephants | "$PY" -c 'import json,sys
sys.exit(not any(f["dport"] == int(sys.argv[1]) for f in json.load(sys.stdin)))' "$1"
}

# lab_elephant_first SECONDS PORT WHAT: within SECONDS the agent lists an
# elephant to PORT, and its default listing (at most 100 flows, biggest
# first) starts with it; fails naming WHAT otherwise.
lab_elephant_first() {
    local port=$2
    lab_wait_for "$1" lab_elephant_listed "$port" || lab_fail "$3 is not found"
    fpctl flows --json >"$LAB_DIR/top.json"
    "$PY" - "$LAB_DIR/top.json" "$port" <<'PY' || lab_fail "the default listing is wrong"
import json, sys
top = json.load(open(sys.argv[1]))
assert 0 < len(top) <= 100, f"{len(top)} flows listed by default"
assert top[0]["dport"] == int(sys.argv[2]), f"the biggest flow listed is {top[0]}"
PY
}

# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# The tuning labs (tests/integration/tuning-*.sh): a hypervisor in its own
# network namespace, so that its conntrack table, qdiscs, routes and
# sysctls are the lab's alone, with "VMs" and a "world" in namespaces of
# their own, joined to it by veth pairs (the host side plays the tap).
# Everything is named fp14-* and undone by tlab_cleanup (trap it).
#
# The agent is the real footprintd, run inside fp14-host (its BPF netfilter
# links attach to that namespace).  Its VMs are libvirt test-driver domains
# served by a libvirtd of the lab's own (its own config, socket directory,
# pid file and log under TLAB_DIR, no driver modules loaded: nothing it
# does touches the system's libvirtd or the VM lab's).  The test driver's
# test:///default state is one per libvirtd, shared by every connection to
# it, so the domains virsh defines are the ones the agent sees, with real
# lifecycle events.  A domain's <interface type='ethernet'> names its veth
# in fp14-host; its class is the operator's pin element in its metadata,
# so the learner's warm-up does not matter.
#
#   fp14-vma (10.214.1.2) -- vnet-a |                 |
#   fp14-vmb (10.214.2.2) -- vnet-b | fp14-host       | up0 -- eth0 fp14-world (10.214.9.2)
#   fp14-vmc (10.214.3.2) -- vnet-c | (10.214.9.1)    |
#
# TLAB_MODE: routed (the default: the world routes 10.214.0.0/16 back),
# nat (masquerade on up0; the world knows only 10.214.9.0/24) or bridged
# (vnet-a, vnet-b and up0 in bridge br0 with br_netfilter: one L2,
# 10.214.8.0/24, world 10.214.8.100, VMs .1x).
#
# Needs: FP_BUILDDIR, FP_SRCDIR; sources lab.sh for its helpers.

# shellcheck source=lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"

TLAB_NS=(fp14-host fp14-vma fp14-vmb fp14-vmc fp14-world)
TLAB_DIR=
TLAB_AGENT_PID=
TLAB_PIDS=()
TLAB_LIBVIRTD_PID=
TLAB_URI=

H() { ip netns exec fp14-host "$@"; }

tlab_require() {
    [ "$(id -u)" = 0 ] || lab_skip "needs root (network namespaces, tc, BPF)"
    ip netns add fp14-probe 2>/dev/null || lab_skip "kernel without network namespaces"
    ip netns del fp14-probe
    command -v tc >/dev/null || lab_fail "tc missing (apt-get install iproute2)"
    command -v nft >/dev/null || lab_fail "nft missing (apt-get install nftables)"
    command -v conntrack >/dev/null || lab_fail "conntrack missing (apt-get install conntrack)"
    command -v iperf3 >/dev/null || lab_fail "iperf3 missing (apt-get install iperf3)"
    command -v libvirtd >/dev/null || lab_fail "libvirtd missing (apt-get install libvirt-daemon-system)"
    command -v virsh >/dev/null || lab_fail "virsh missing (apt-get install libvirt-clients)"
    [ -x "$PY" ] || lab_fail "$PY missing"
}

tlab_cleanup() {
    set +e
    tlab_stop_agent KILL
    local p
    for p in "${TLAB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${TLAB_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    TLAB_PIDS=()
    if [ -n "$TLAB_LIBVIRTD_PID" ]; then
        kill "$TLAB_LIBVIRTD_PID" 2>/dev/null
        wait "$TLAB_LIBVIRTD_PID" 2>/dev/null
        TLAB_LIBVIRTD_PID=
    fi
    for p in "${TLAB_NS[@]}"; do
        ip netns pids "$p" 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del "$p" 2>/dev/null
    done
    [ -n "$TLAB_DIR" ] && [ -z "${LAB_KEEP:-}" ] && rm -rf "$TLAB_DIR"
    TLAB_DIR=
}

# tlab_setup: namespaces, veths, addresses, routes, conntrack, a private bus.
tlab_setup() {
    local mode=${TLAB_MODE:-routed} n i
    trap tlab_cleanup EXIT
    tlab_require
    # Nothing here is shared with the other labs (own namespaces, own
    # conntrack table, own bus), but two tuning labs would share the fp14-*
    # names: one at a time.
    # (fd 8 is closed for every process the lab starts: one that outlives a
    # killed lab must not keep the next one waiting.)
    exec 8>/run/footprintd-tuning-lab.lock
    flock -w 600 8 || { echo "another tuning lab holds /run/footprintd-tuning-lab.lock" >&2; exit 1; }
    tlab_reap_libvirtd
    TLAB_DIR=$(mktemp -d /tmp/fp14-lab.XXXXXX)
    LAB_DIR=$TLAB_DIR
    for n in "${TLAB_NS[@]}"; do
        ip netns del "$n" 2>/dev/null || true
        ip netns add "$n"
        ip -n "$n" link set lo up
    done
    for n in a b c; do
        ip -n fp14-host link add "vnet-$n" type veth peer name eth0 netns "fp14-vm$n"
        ip -n "fp14-vm$n" link set eth0 up
        ip -n fp14-host link set "vnet-$n" up
    done
    # The uplink: 4 queues, as a NIC has (its kernel default root is noqueue).
    ip -n fp14-host link add up0 numtxqueues 4 numrxqueues 4 type veth peer name eth0 \
        numtxqueues 4 numrxqueues 4 netns fp14-world
    ip -n fp14-host link set up0 up
    ip -n fp14-world link set eth0 up
    H sysctl -qw net.ipv4.ip_forward=1
    # Counters from the first flow on, even flows older than the tuner (the
    # namespace's own sysctl: nothing to restore).
    H sysctl -qw net.netfilter.nf_conntrack_acct=1
    if [ "$mode" = natbridge ]; then
        # libvirt's NAT network: the VMs on a bridge the host routes from
        # (br_netfilter on), masqueraded out of up0.
        H ip link add br0 type bridge
        for n in vnet-a vnet-b; do H ip link set "$n" master br0; done
        H ip link set br0 up
        H ip addr add 10.214.8.1/24 dev br0
        H sysctl -qw net.bridge.bridge-nf-call-iptables=1
        ip -n fp14-vma addr add 10.214.8.11/24 dev eth0
        ip -n fp14-vmb addr add 10.214.8.12/24 dev eth0
        for n in a b; do ip -n "fp14-vm$n" route add default via 10.214.8.1; done
        H ip addr add 10.214.9.1/24 dev up0
        H ip route add default via 10.214.9.2 dev up0
        ip -n fp14-world addr add 10.214.9.2/24 dev eth0
    elif [ "$mode" = bridged ]; then
        H ip link add br0 type bridge
        for n in vnet-a vnet-b up0; do H ip link set "$n" master br0; done
        H ip link set br0 up
        H ip addr add 10.214.8.1/24 dev br0
        H sysctl -qw net.bridge.bridge-nf-call-iptables=1
        ip -n fp14-vma addr add 10.214.8.11/24 dev eth0
        ip -n fp14-vmb addr add 10.214.8.12/24 dev eth0
        ip -n fp14-world addr add 10.214.8.100/24 dev eth0
    else
        i=0
        for n in a b c; do
            i=$((i + 1))
            H ip addr add "10.214.$i.1/24" dev "vnet-$n"
            ip -n "fp14-vm$n" addr add "10.214.$i.2/24" dev eth0
            ip -n "fp14-vm$n" route add default via "10.214.$i.1"
        done
        H ip addr add 10.214.9.1/24 dev up0
        H ip route add default via 10.214.9.2 dev up0
        ip -n fp14-world addr add 10.214.9.2/24 dev eth0
        [ "$mode" = routed ] && ip -n fp14-world route add 10.214.0.0/16 via 10.214.9.1
    fi
    # Conntrack in the host namespace: a rule that uses it, as any firewall has.
    H nft -f - <<'NFT'
table inet fp14_lab {
    chain forward { type filter hook forward priority 0; ct state new,established,related counter accept; }
    chain input { type filter hook input priority 0; ct state new,established,related counter accept; }
}
NFT
    if [ "$mode" = nat ] || [ "$mode" = natbridge ]; then
        H nft add table ip fp14_nat
        H nft add chain ip fp14_nat post '{ type nat hook postrouting priority 100; }'
        H nft add rule ip fp14_nat post oifname up0 masquerade
    fi
    # TLAB_BUS_POLICY: another policy file than footprintd's (to reach the
    # daemon's own checks past the bus's).
    lab_bus_conf "$TLAB_DIR/system_bus_socket" \
        "${TLAB_BUS_POLICY:-$FP_SRCDIR/conf/org.footprintd.Footprint1.conf}" >"$TLAB_DIR/bus.conf"
    dbus-daemon --config-file="$TLAB_DIR/bus.conf" --nofork --nopidfile >"$TLAB_DIR/bus.log" 2>&1 8>&- &
    TLAB_PIDS+=($!)
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TLAB_DIR/system_bus_socket"
    lab_wait_for 5 test -S "$TLAB_DIR/system_bus_socket" || lab_fail "private dbus-daemon did not start"
    tlab_start_libvirtd
}

# tlab_start_libvirtd: the lab's own libvirtd, in the foreground of a
# background job (its pid is $!), without systemd.  LIBVIRT_DRIVER_DIR
# names an empty directory: no hypervisor, network or storage driver is
# loaded (they would share /run/libvirt/* with the system's libvirtd), only
# the test driver libvirt has built in.  One connection is held open all
# along (virsh event, its log in TLAB_DIR): the test driver drops
# test:///default's state when its last connection closes, and the agent
# is SIGKILLed.
tlab_start_libvirtd() {
    local d=$TLAB_DIR/libvirt
    mkdir -p "$d/sock" "$d/drivers"
    cat >"$d/libvirtd.conf" <<EOF
unix_sock_dir = "$d/sock"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
unix_sock_admin_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$d/libvirtd.log"
EOF
    LIBVIRT_DRIVER_DIR=$d/drivers libvirtd --config "$d/libvirtd.conf" -p "$d/libvirtd.pid" \
        >>"$d/stdout.log" 2>&1 8>&- &
    TLAB_LIBVIRTD_PID=$!
    TLAB_URI="test+unix:///default?socket=$d/sock/libvirt-sock"
    lab_wait_for 30 tlab_libvirtd_up ||
        lab_fail "the lab's libvirtd did not answer: $(tail -5 "$d/libvirtd.log" "$d/stdout.log" 2>&1)"
    tlab_virsh event --all --loop --timestamp >"$d/events.log" 2>&1 8>&- &
    TLAB_PIDS+=($!)
    # The test driver's own domain, "test" (a tap testnet0 that is not here),
    # dropped once the holder is connected: its event says so (before, our
    # own connection was the last and the state began afresh without it).
    lab_wait_for 15 tlab_drop_default ||
        lab_fail "the lab's libvirtd keeps its 'test' domain: $(tlab_drop_domain test 2>&1)"
}

# tlab_drop_domain NAME: destroy the domain (the agent gets its lifecycle
# event) and undefine it; fails (saying why) unless it is gone.
tlab_drop_domain() {
    local out
    out=$(tlab_virsh -q destroy "$1" 2>&1) || true
    out+=$(tlab_virsh -q undefine "$1" 2>&1) || true
    tlab_virsh -q domstate "$1" >/dev/null 2>&1 || return 0
    echo "domain '$1' is still there: $out" >&2
    return 1
}

# tlab_reap_libvirtd: the libvirtd of a lab that was killed before its
# cleanup ran (it lives outside the lab's namespaces), found by its pid
# file and killed only when its command line names that lab's config.
# Called with the lock held: no other tuning lab runs.
tlab_reap_libvirtd() {
    local f pid
    for f in /tmp/fp14-lab.*/libvirt/libvirtd.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null) || continue
        [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
            grep -F -- "--config ${f%/libvirtd.pid}/libvirtd.conf" >/dev/null &&
            kill "$pid" 2>/dev/null
        rm -f "$f"
    done
    return 0
}

tlab_drop_default() {
    tlab_drop_domain test 2>/dev/null &&
        grep "domain 'test'" "$TLAB_DIR/libvirt/events.log" >/dev/null
}

tlab_virsh() { virsh -c "$TLAB_URI" "$@"; }
tlab_libvirtd_up() { tlab_virsh version >/dev/null 2>&1; }

# tlab_world_ip: the world's address in this mode.
tlab_world_ip() { [ "${TLAB_MODE:-routed}" = bridged ] && echo 10.214.8.100 || echo 10.214.9.2; }

# tlab_uuid NAME: the uuid of the lab's VM NAME, by its first letter (a is
# 00000001-0000-4000-8000-000000000001).
tlab_uuid() {
    local i
    i=$(($(printf '%d' "'$1") - 96))
    printf '%08d-0000-4000-8000-0000000000%02d\n' "$i" "$i"
}

# tlab_vms [NAME:CLASS:TAPS...]: the lab's VMs, running test-driver domains
# (NAMEs with distinct first letters: a is uuid 00000001-..., b 00000002-...)
# with one interface per tap of TAPS (TAP[;TAP...]), pinned to
# CLASS by the operator's pin element.  A running domain not in the list is
# destroyed (the agent gets its lifecycle event) and undefined.
tlab_vms() {
    local v name class taps tap uuid i j
    local -A want=()
    for v in "$@"; do
        IFS=: read -r name class taps <<<"$v"
        want[$name]=1
        tlab_virsh -q domstate "$name" >/dev/null 2>&1 && continue
        uuid=$(tlab_uuid "$name")
        i=${uuid:6:2}
        j=0
        {
            echo "<domain type='test'>"
            echo "  <name>$name</name>"
            echo "  <uuid>$uuid</uuid>"
            echo "  <memory>65536</memory>"
            echo "  <vcpu>1</vcpu>"
            echo "  <metadata>"
            echo "    <pin xmlns='http://footprintd.org/xmlns/footprint-pin/1.0' class='$class'/>"
            echo "  </metadata>"
            echo "  <os><type>hvm</type></os>"
            echo "  <devices>"
            for tap in ${taps//;/ }; do
                j=$((j + 1))
                echo "    <interface type='ethernet'>"
                echo "      <mac address='52:54:00:14:$i:0$j'/>"
                echo "      <target dev='$tap' managed='no'/>"
                echo "    </interface>"
            done
            echo "  </devices>"
            echo "</domain>"
        } >"$TLAB_DIR/dom-$name.xml"
        tlab_virsh -q define "$TLAB_DIR/dom-$name.xml" >/dev/null ||
            lab_fail "virsh define $name failed"
        tlab_virsh -q start "$name" >/dev/null || lab_fail "virsh start $name failed"
    done
    for name in $(tlab_virsh -q list --all --name); do
        [ -n "${want[$name]:-}" ] || tlab_drop_domain "$name" || lab_fail "cannot drop VM $name"
    done
}

# tlab_config LINES...: the agent's footprintd.conf ([tuning] lines after
# the lab's defaults: the lab's libvirtd, no metrics file, elephants at
# 4 MiB within 10 s, sweeps every 250 ms).
tlab_config() {
    {
        echo "[agent]"
        echo "state_dir=$TLAB_DIR/state"
        echo "runtime_dir=$TLAB_DIR/run"
        echo "sweep_interval_ms=${TLAB_SWEEP_MS:-250}"
        echo "[libvirt]"
        echo "uri=$TLAB_URI"
        echo "[metrics]"
        echo "textfile="
        echo "[sense]"
        echo "elephant_bytes=${TLAB_ELEPHANT_BYTES:-4194304}"
        echo "[tuning]"
        printf '%s\n' "$@"
    } >"$TLAB_DIR/footprintd.conf"
}

# tlab_spawn_agent: footprintd in the host namespace, in the background
# (TLAB_AGENT_PID); does not wait for it.
tlab_spawn_agent() {
    # Not through H(): $! must be footprintd (ip netns exec execs it), not a
    # subshell, so that signals and wait reach it.
    echo "# [$(date +%T.%N)] start" >>"$TLAB_DIR/agent.log"
    ip netns exec fp14-host "$FP_BUILDDIR/src/footprintd" --config "$TLAB_DIR/footprintd.conf" \
        >>"$TLAB_DIR/agent.log" 2>&1 8>&- &
    TLAB_AGENT_PID=$!
}

# tlab_start_agent: footprintd in the host namespace; waits until it
# answers on the bus, is connected to the lab's libvirtd and knows every
# running domain of it.
tlab_start_agent() {
    local i want
    want=$(tlab_virsh -q list --name | grep -c . || true)
    tlab_spawn_agent
    for i in $(seq 400); do
        if fpctl tuning >/dev/null 2>&1 && [ "$(tlab_status libvirt_connected)" = True ] &&
            [ "$(tlab_status vms)" = "$want" ]; then
            return 0
        fi
        kill -0 "$TLAB_AGENT_PID" 2>/dev/null ||
            lab_fail "footprintd exited: $(tail -5 "$TLAB_DIR/agent.log")"
        sleep 0.05
    done
    lab_fail "footprintd did not start (or see the lab's $want VMs): $(tail -5 "$TLAB_DIR/agent.log")"
}

# tlab_status FIELD: one field of footprintctl status --json ("" when the
# agent does not answer).
tlab_status() {
    fpctl status --json 2>/dev/null |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" 2>/dev/null || true
}

# tlab_stop_agent [SIGNAL]: TERM (the default: undoes) or KILL (a crash).
tlab_stop_agent() {
    [ -n "$TLAB_AGENT_PID" ] || return 0
    kill "-${1:-TERM}" "$TLAB_AGENT_PID" 2>/dev/null
    local rc=0
    wait "$TLAB_AGENT_PID" 2>/dev/null || rc=$?
    TLAB_AGENT_PID=
    return $rc
}

tlab_bg() { "$@" >>"$TLAB_DIR/bg.log" 2>&1 8>&- & TLAB_PIDS+=($!); }

# tlab_tc_state: the host namespace's qdiscs, classes and filters, every
# device, as tc -j prints them (statistics left out).
tlab_tc_state() {
    local dev
    for dev in $(H ls /sys/class/net | sort); do
        echo "== $dev"
        H tc -j qdisc show dev "$dev"
        H tc -j class show dev "$dev"
        H tc -j filter show dev "$dev"
        H tc -j filter show dev "$dev" ingress 2>/dev/null
        H tc -j filter show dev "$dev" egress 2>/dev/null
    done
}

# tlab_marks: "mark=N" of every conntrack entry of the host namespace,
# sorted (what footprintd could have touched).
tlab_marks() {
    { H conntrack -L -o extended 2>/dev/null || true; } | { grep -o 'mark=[0-9]*' || true; } |
        sort | uniq -c
}

# tlab_flow_marks: each conntrack entry of the host namespace as its
# original tuple and its mark, sorted (what footprintd could have touched,
# entry by entry).
tlab_flow_marks() {
    { H conntrack -L -o extended 2>/dev/null || true; } | awk '{
        t = ""; m = ""
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^(src|dst|sport|dport)=/ && !seen[substr($i, 1, index($i, "="))]++) t = t " " $i
            if ($i ~ /^mark=/) m = $i
        }
        delete seen
        print $3 t " " m
    }' | sort
}

# tlab_our_marks MASK: entries with any of footprintd's bits set.
tlab_our_marks() {
    local mask=$(($1)) m n=0
    for m in $({ H conntrack -L -o extended 2>/dev/null || true; } |
        { grep -o 'mark=[0-9]*' || true; } | cut -d= -f2); do
        (((m & mask) != 0)) && n=$((n + 1))
    done
    echo $n
}

# tlab_tuning FIELD: one field of footprintctl tuning --json.
tlab_tuning() {
    fpctl tuning --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# tlab_journal_size: entries in the agent's journal.
tlab_journal_size() {
    find "$TLAB_DIR/state/tuning" -name '*.entry' 2>/dev/null | wc -l
}

# tlab_class_stat DEV CLASSID bytes|pkt: what the class has sent (tc has
# no JSON for classes: its text).
tlab_class_stat() {
    H tc -s class show dev "$1" classid "$2" 2>/dev/null |
        awk -v what="$3" '$1 == "Sent" { print (what == "bytes" ? $2 : $4); found = 1 }
                          END { if (!found) print 0 }'
}
tlab_class_bytes() { tlab_class_stat "$1" "$2" bytes; }

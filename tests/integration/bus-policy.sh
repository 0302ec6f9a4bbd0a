#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Who may use footprintd's bus API is for the D-Bus policy to say
# (conf/org.footprintd.Footprint1.conf, installed in
# /usr/share/dbus-1/system.d/), and a real dbus-daemon enforces it.  Two
# local users who differ only in the footprintd group:
#  - nobody (no member) reaches the bus (the bus daemon answers it, so the
#    denials below are the policy's, not a bus it cannot reach), can call
#    none of footprintd's methods and receives none of its signals;
#  - footprintd-reader (a member) calls every read-only method and gets
#    footprintd's answers (GetStatus's backend, its own elephant flow in
#    ListFlows, footprintd's error for an unknown VM), receives
#    ElephantFound, and is refused the methods that change state, which
#    are root's (root's call goes through).
# The member and the group exist only in a private mount namespace (copies
# of /etc/passwd and /etc/group bound over the originals, with-users.sh)
# where the bus and the clients run: the host's user database is not
# touched.  A policy without its <deny> rules, or one that lets the group
# change state, fails this test.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"

N=0
ok() {
    N=$((N + 1))
    echo "ok $N - $*"
}
MEMBER=footprintd-reader
DEST=(--system --dest org.footprintd.Footprint1 --object-path /org/footprintd/Footprint1)
IFACE=org.footprintd.Footprint1
NO_VM=00000000-0000-4000-8000-000000000017

command -v gdbus >/dev/null || lab_fail "gdbus missing (apt-get install libglib2.0-bin)"
command -v runuser >/dev/null || lab_fail "runuser missing (apt-get install util-linux)"
command -v unshare >/dev/null || lab_fail "unshare missing (apt-get install util-linux)"
[ "$(id -u)" = 0 ] || lab_skip "needs root (mount namespaces, the lab)"
unshare --mount true 2>/dev/null || lab_skip "kernel without mount namespaces"

LAB_USERS_DIR=$(mktemp -d /tmp/fp17-users.XXXXXX)
export LAB_USERS_DIR
users_exit() {
    local rc=$?
    set +e
    if [ "$rc" != 0 ] && [ -n "${LAB_DIR:-}" ]; then
        tail -n 20 "$LAB_DIR/agent.log" "$LAB_DIR/bus.log" 2>/dev/null | sed 's/^/#   /' >&2
    fi
    lab_cleanup
    rm -rf "$LAB_USERS_DIR"
    return "$rc"
}
trap users_exit EXIT

# The test's group and member: an id free on this host, any footprintd
# group of the host's replaced by ours (in the copies only).
id17=64017
while getent group "$id17" >/dev/null || getent passwd "$id17" >/dev/null; do
    id17=$((id17 + 1))
done
awk -F: -v m="$MEMBER" '$1 != m' /etc/passwd >"$LAB_USERS_DIR/passwd"
echo "$MEMBER:x:$id17:$id17:footprintd bus-policy test:/nonexistent:/usr/sbin/nologin" \
    >>"$LAB_USERS_DIR/passwd"
awk -F: -v m="$MEMBER" '$1 != "footprintd" && $1 != m' /etc/group >"$LAB_USERS_DIR/group"
echo "footprintd:x:$id17:$MEMBER" >>"$LAB_USERS_DIR/group"
chmod 644 "$LAB_USERS_DIR/passwd" "$LAB_USERS_DIR/group"

# as USER CMD...: CMD as USER (root: as is), where the test's users exist.
as() {
    local user=$1
    shift
    if [ "$user" = root ]; then
        "$@"
    else
        "$FP_SRCDIR/tests/lib/with-users.sh" runuser -u "$user" -- "$@"
    fi
}

LAB_BUS_PREFIX=$FP_SRCDIR/tests/lib/with-users.sh lab_setup
# The users reach the bus socket in the lab dir.
chmod o+x "$LAB_DIR"
LAB_SWEEP_MS=300 lab_start_agent "[sense]" "elephant_bytes=4194304" \
    "[metrics]" "textfile=$LAB_DIR/footprintd.prom"

# The identities the bus sees are the ones meant (same uid namespace, the
# member's group resolved by the bus through the same copies).
[ "$(as "$MEMBER" id -G)" = "$id17" ] || lab_fail "$MEMBER's groups: $(as "$MEMBER" id)"
as nobody id -G | grep -w "$id17" >/dev/null && lab_fail "nobody is in the test's group"
for u in nobody "$MEMBER"; do
    owner=$(as "$u" gdbus call --system --dest org.freedesktop.DBus \
        --object-path /org/freedesktop/DBus --method org.freedesktop.DBus.GetNameOwner \
        "$IFACE" 2>&1) || lab_fail "$u cannot reach the lab bus (the checks would prove nothing): $owner"
done
ok "nobody and $MEMBER reach the bus and see footprintd's name ($owner)"

# call USER METHOD ARGS...: the call's reply or error, its status.
call() {
    local user=$1 method=$2
    shift 2
    as "$user" gdbus call "${DEST[@]}" --method "$method" "$@" 2>&1
}
refused() { # USER METHOD ARGS...: the bus refuses the call (AccessDenied)
    local out
    if out=$(call "$@"); then
        lab_fail "$1 called $2: $out"
    fi
    # The bus's own words: footprintd refuses a non-root SetTuningMode too,
    # and that must not pass for the policy.
    grep "org.freedesktop.DBus.Error.AccessDenied: Rejected send message" <<<"$out" >/dev/null ||
        lab_fail "$1's $2 failed, but not by the bus policy: $out"
}
answered() { # USER METHOD ARGS...: footprintd answered (a reply or its own error)
    local out rc=0
    out=$(call "$@") || rc=$?
    if grep "AccessDenied" <<<"$out" >/dev/null; then
        lab_fail "$1 was refused $2: $out"
    fi
    [ "$rc" = 0 ] || grep "GDBus.Error:org.freedesktop.DBus.Error.InvalidArgs" <<<"$out" \
        >/dev/null || lab_fail "$1's $2 did not reach footprintd: $out"
    printf '%s\n' "$out"
}

# Each: METHOD|ARGUMENT|..., the arguments in GVariant text.
READ_CALLS=(
    "$IFACE.GetStatus|"
    "$IFACE.ListFlows|@a{sv} {}"
    "$IFACE.ListVms|@a{sv} {}"
    "$IFACE.GetFootprint|'$NO_VM'"
    "$IFACE.ListFootprints|"
    "$IFACE.Explain|'$NO_VM'"
    "$IFACE.GetTuning|"
    "org.freedesktop.DBus.Properties.Get|'$IFACE'|'Version'"
    "org.freedesktop.DBus.Introspectable.Introspect|"
)
WRITE_CALLS=(
    "$IFACE.SetTuningMode|'advise'"
    "$IFACE.UndoTuning|"
)
# each CHECK USER CALL...: CHECK USER METHOD ARG... for each CALL.
each() {
    local check=$1 user=$2 c call
    shift 2
    for c in "$@"; do
        IFS='|' read -r -a call <<<"$c"
        "$check" "$user" "${call[@]}" >/dev/null
    done
}
each refused nobody "${READ_CALLS[@]}" "${WRITE_CALLS[@]}"
ok "nobody is refused every method, by the bus (AccessDenied)"

each answered "$MEMBER" "${READ_CALLS[@]}"
each refused "$MEMBER" "${WRITE_CALLS[@]}"
answered root "$IFACE.SetTuningMode" "'advise'" >/dev/null
ok "$MEMBER calls every read-only method, and only root changes state"

# The member's answers are footprintd's, with real data in them.
status=$(answered "$MEMBER" "$IFACE.GetStatus")
grep "'backend': <'\(bpf-netfilter\|ctnetlink\)'>" <<<"$status" >/dev/null ||
    lab_fail "$MEMBER's GetStatus has no backend: $status"
unknown=$(answered "$MEMBER" "$IFACE.GetFootprint" "'$NO_VM'")
grep "$NO_VM" <<<"$unknown" >/dev/null || lab_fail "GetFootprint's error is not footprintd's: $unknown"
[ "$(as "$MEMBER" "$FP_BUILDDIR/src/footprintctl" status --json |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["backend"])')" = \
    "$(lab_status_field backend)" ] || lab_fail "$MEMBER's footprintctl status differs from root's"
as nobody "$FP_BUILDDIR/src/footprintctl" status >"$LAB_DIR/ctl-nobody.txt" 2>&1 &&
    lab_fail "nobody ran footprintctl status: $(cat "$LAB_DIR/ctl-nobody.txt")"
ok "$MEMBER's answers carry footprintd's data (status, footprintctl); nobody's footprintctl fails"

# Signals: both listen with a match rule of their own; an elephant flow.
for u in nobody "$MEMBER"; do
    as "$u" gdbus monitor "${DEST[@]}" >"$LAB_DIR/monitor-$u.log" 2>&1 &
    LAB_PIDS+=($!)
done
for u in nobody "$MEMBER"; do
    lab_wait_for 5 grep "is owned by" "$LAB_DIR/monitor-$u.log" >/dev/null ||
        lab_fail "$u's monitor did not start: $(cat "$LAB_DIR/monitor-$u.log")"
done
lab_bg ip netns exec fpB iperf3 -s -1 -p 15217
sleep 0.5
ip netns exec fpA iperf3 -c 10.201.2.2 -p 15217 -n 32M >/dev/null || lab_fail "iperf3"
lab_wait_for 10 grep "ElephantFound" "$LAB_DIR/monitor-$MEMBER.log" >/dev/null ||
    lab_fail "$MEMBER received no ElephantFound: $(cat "$LAB_DIR/monitor-$MEMBER.log")"
grep "10.201.2.2" "$LAB_DIR/monitor-$MEMBER.log" >/dev/null ||
    lab_fail "the ElephantFound $MEMBER received is not the flow: $(cat "$LAB_DIR/monitor-$MEMBER.log")"
flows=$(answered "$MEMBER" "$IFACE.ListFlows" "@a{sv} {}")
grep "10.201.2.2" <<<"$flows" >/dev/null || lab_fail "$MEMBER's ListFlows lacks the flow: $flows"
sleep 1
grep "ElephantFound\|ClassChanged\|10\.201\." "$LAB_DIR/monitor-nobody.log" >/dev/null &&
    lab_fail "nobody received footprintd's signals: $(cat "$LAB_DIR/monitor-nobody.log")"
ok "$MEMBER receives ElephantFound (and lists the flow); nobody receives nothing"

lab_stop_agent || lab_fail "footprintd did not exit cleanly"
echo "1..$N"

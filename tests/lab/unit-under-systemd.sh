#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The installed systemd unit under a real systemd (PID 1 of a Debian 12
# systemd-nspawn container), on a host where systemd is not PID 1: start
# without and with node_exporter's directory, reload (good and bad file),
# a crash restarted, a crash not restarted (ExecStopPost= restores
# nf_conntrack_acct), a second copy, a clean stop, and the exposure of
# systemd-analyze security.  The container has its own network namespace
# (its own nf_conntrack_acct); the kernel refuses BPF inside nspawn, so the
# agent runs on its ctnetlink fallback there.
#
#   sudo tests/lab/unit-under-systemd.sh BUILDDIR
#
# Needs root, systemd-container and debootstrap (installed if missing) and,
# the first time, the network (debootstrap of bookworm into
# FP_NSPAWN_TREE, default /var/tmp/footprintd-nspawn, kept for next time).
# Not part of make check: it downloads a Debian base system.
# "A && B || fail": fail when any of A, B fails, as meant.
# shellcheck disable=SC2015
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILDDIR}" && pwd)
TREE=${FP_NSPAWN_TREE:-/var/tmp/footprintd-nspawn}
MACHINE=fp-unit-$$
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root" >&2; exit 77; }
command -v systemd-nspawn >/dev/null && command -v debootstrap >/dev/null ||
    apt-get install -y -q systemd-container debootstrap >/dev/null

if [ ! -x "$TREE/lib/systemd/systemd" ]; then
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libbpf1,libglib2.0-0,\
libjson-glib-1.0-0,libnl-3-200,libnl-nf-3-200,libnl-route-3-200,libvirt0,libvirt-glib-1.0-0,\
libxml2,libsystemd0,procps bookworm "$TREE" http://deb.debian.org/debian >/dev/null ||
        fail "debootstrap"
fi
make -C "$BUILD" install DESTDIR="$TREE" >/dev/null || fail "make install"
# The system bus reads policies from /usr/share, not /usr/local/share.
cp "$TREE"/usr/local/share/dbus-1/system.d/org.footprintd.Footprint1.conf \
    "$TREE"/usr/share/dbus-1/system.d/
rm -rf "$TREE/var/lib/prometheus" "$TREE/etc/systemd/system/footprintd.service.d"
echo '[agent]' >"$TREE/etc/footprintd/footprintd.conf"

systemd-nspawn -D "$TREE" --register=no --keep-unit --private-network --capability=all \
    -M "$MACHINE" -b >"/tmp/$MACHINE.console" 2>&1 &
NSPAWN=$!
cleanup() {
    local rc=$?
    set +e
    [ -n "${FP_KEEP:-}" ] && return "$rc"
    [ -n "${CPID:-}" ] && nsenter -t "$CPID" -a systemctl poweroff 2>/dev/null
    sleep 3
    kill "$NSPAWN" 2>/dev/null
    wait "$NSPAWN" 2>/dev/null
    rm -f "/tmp/$MACHINE.console"
    return "$rc"
}
trap cleanup EXIT
for _ in $(seq 100); do
    CPID=$(pgrep -P "$NSPAWN" | head -1) && [ -n "$CPID" ] &&
        nsenter -t "$CPID" -a systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded' &&
        break
    sleep 0.3
done
[ -n "${CPID:-}" ] || fail "the container did not boot: $(tail -5 "/tmp/$MACHINE.console")"
C() { nsenter -t "$CPID" -a "$@"; }
acct() { C sysctl -n net.netfilter.nf_conntrack_acct; }
pid() { C systemctl show -p MainPID --value footprintd; }
# journal_has TEXT: the unit's journal says TEXT within 10 s.
journal_has() {
    local _
    for _ in $(seq 50); do
        C journalctl -u footprintd --no-pager | grep -qF -- "$1" && return 0
        sleep 0.2
    done
    return 1
}
C systemctl daemon-reload
C systemctl reload dbus
C sysctl -qw net.netfilter.nf_conntrack_acct=0

C systemctl start footprintd || fail "start without node_exporter's directory: $(C journalctl -u footprintd --no-pager | tail -3)"
[ "$(acct)" = 1 ] || fail "nf_conntrack_acct not enabled"
echo "ok - starts without /var/lib/prometheus/node-exporter"

first=$(pid)
C systemctl reload footprintd
printf '[agent]\nsweep_interval_ms=500\n' >"$TREE/etc/footprintd/footprintd.conf"
C systemctl reload footprintd
journal_has "reload: [agent] sweep_interval_ms: '1000' -> '500'" || fail "good reload not applied"
printf '[sense]\nelefant=1\n' >"$TREE/etc/footprintd/footprintd.conf"
C systemctl reload footprintd
journal_has "unknown key 'elefant'; the running configuration stays" || fail "bad reload not logged"
[ "$(pid)" = "$first" ] && C systemctl is-active -q footprintd || fail "reload restarted or killed it"
echo '[agent]' >"$TREE/etc/footprintd/footprintd.conf"
echo "ok - systemctl reload: a good file applied, a bad one logged, same process"

rc=0
C /usr/local/sbin/footprintd >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] && [ "$(acct)" = 1 ] && C systemctl is-active -q footprintd ||
    fail "a second copy: exit $rc, acct $(acct)"
echo "ok - a second copy exits 1 and changes nothing"

C systemctl kill -s SIGKILL footprintd
sleep 1
[ "$(acct)" = 0 ] || fail "ExecStopPost did not restore nf_conntrack_acct after SIGKILL"
sleep 3
C systemctl is-active -q footprintd && [ "$(pid)" != "$first" ] || fail "not restarted after SIGKILL"
[ "$(acct)" = 1 ] || fail "nf_conntrack_acct not enabled again"
echo "ok - SIGKILL: restored by ExecStopPost, restarted"

C mkdir -p /etc/systemd/system/footprintd.service.d /var/lib/prometheus/node-exporter
printf '[Service]\nRestart=no\n' >"$TREE/etc/systemd/system/footprintd.service.d/no-restart.conf"
C systemctl daemon-reload
C systemctl restart footprintd
sleep 2
C test -s /var/lib/prometheus/node-exporter/footprintd.prom || fail "no metrics file"
C systemctl kill -s SIGSEGV footprintd
sleep 2
[ "$(C systemctl show -p ActiveState --value footprintd)" = failed ] || fail "restarted despite Restart=no"
[ "$(acct)" = 0 ] || fail "a crash not restarted left nf_conntrack_acct=1"
C test ! -e /var/lib/prometheus/node-exporter/footprintd.prom || fail "a dead agent's metrics stayed"
rm -rf "$TREE/etc/systemd/system/footprintd.service.d"
C systemctl daemon-reload
C systemctl reset-failed footprintd
echo "ok - a crash not restarted: nf_conntrack_acct restored, metrics file removed"

C systemctl start footprintd
sleep 2
C test -s /var/lib/prometheus/node-exporter/footprintd.prom || fail "no metrics file"
C systemctl stop footprintd
[ "$(acct)" = 0 ] && C test ! -e /var/lib/prometheus/node-exporter/footprintd.prom ||
    fail "clean stop: acct $(acct), metrics file left?"
echo "ok - with node_exporter's directory: metrics written, removed at a clean stop"

C systemd-analyze verify --man=no /usr/local/lib/systemd/system/footprintd.service ||
    fail "systemd-analyze verify"
exposure=$(C systemd-analyze security footprintd 2>&1 | sed -n 's/.*exposure level for footprintd.service: \([0-9.]*\).*/\1/p')
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 3.0) }' || fail "exposure $exposure > 3.0"
echo "ok - systemd-analyze verify clean, security exposure $exposure"

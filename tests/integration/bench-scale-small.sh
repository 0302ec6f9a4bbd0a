#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/perf/bench-scale.sh in its small mode (2000 quiet flows, 3 s
# windows, 200 new flows/s): the benchmark runs from start to end, each
# row has its figures (no "no answer" from `footprintctl flows`), the
# flows it made were there, and every sysctl it raised is back.  Figures
# are not judged (they are the benchmark's business).
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
lab_require_kernel
keys="net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_buckets net.netfilter.nf_conntrack_udp_timeout"
# Read while no lab runs (a lab holds the lock while its values are raised).
# shellcheck disable=SC2086
read_keys() { flock /run/footprintd-lab.lock sysctl -n $keys | tr '\n' ' '; }
before=$(read_keys)
out=$(mktemp /tmp/16-bench-scale.XXXXXX)
trap 'rm -f "$out" "$out.log"' EXIT
BENCH_SIZES=2000 BENCH_WINDOW=3 BENCH_NEW_PER_S=200 bash "$FP_SRCDIR/tests/perf/bench-scale.sh" >"$out" 2>"$out.log" ||
    lab_fail "bench-scale.sh failed: $(tail -20 "$out.log")"
cat "$out"
rows=$(grep -cE '^\| 2000(,| quiet)' "$out" || true)
[ "$rows" = 2 ] || lab_fail "expected a quiet and a churn row, got $rows"
grep -E '^\| 2000(,| quiet)' "$out" | grep -E '[0-9.]+ s +\|$' >/dev/null ||
    lab_fail "footprintctl flows did not answer in the small run"
grep -E '^\| 2000 \| conntrack -L: [0-9.]+ CPU-s for [0-9]+ entries' "$out" >/dev/null ||
    lab_fail "no conntrack -L cost"
listed=$(sed -nE 's/^\| 2000 \| flows --all --json: ([0-9]+) flows in [0-9.]+ s \(exit 0;.*/\1/p' "$out")
[ "${listed:-0}" -ge 2000 ] || lab_fail "flows --all listed ${listed:-no} flows of a 2000-entry table"
entries=$(grep -E '^\| 2000 quiet' "$out" | awk -F'|' '{print $3}' | tr -d ' ')
[ "$entries" -ge 2000 ] || lab_fail "only $entries conntrack entries while 2000 flows were made"
after=$(read_keys)
[ "$before" = "$after" ] || lab_fail "sysctls not restored: before '$before', after '$after'"
echo "ok: bench-scale small mode ran; sysctls restored ($after)"

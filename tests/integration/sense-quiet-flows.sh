#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A host keeps thousands of conntrack entries that no longer move (UDP
# flows answered once, TCP in TIME_WAIT).  The BPF backend must follow them
# without dumping conntrack at every sweep (a dump stalls the host's packet
# processing for ~10 ms): 2000 one-datagram UDP flows through the host,
# then a dozen sweeps without a dump, fewer queries than flows per sweep,
# every flow still listed; then all of them moving (the queries take
# turns, still no dump, the counters catch up); and all gone once
# conntrack deletes them.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT
N=2000

lab_setup
lab_require_bpf_backend "the quiet-flows test needs"
# The flows must outlive the test (the lab's 5 s would end them).
lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout 120

status() { fpctl status --json >"$LAB_DIR/status.json"; }
field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$LAB_DIR/status.json" "$1"; }
lab_flows() {
    fpctl flows --all --json | "$PY" -c 'import json,sys
print(sum(f["proto"] == "udp" and f["dst"] == "10.201.2.2" and f["dport"] == 9
          for f in json.load(sys.stdin)))'
}

LAB_SWEEP_MS=200 lab_start_agent
# send ROUNDS: a datagram from each of N source ports, ROUNDS times 0.2 s
# apart, to the discard port (nobody listens: conntrack keeps the flows,
# UNREPLIED, for the UDP timeout).
send() { ip netns exec fpA "$PY" "$FP_SRCDIR/tests/lib/mice.py" quiet 10.201.2.2 "$N" "$1"; }
send 1
all_listed() { [ "$(lab_flows)" = "$N" ]; }
lab_wait_for 10 all_listed || lab_fail "$(lab_flows) of $N UDP flows listed"
# The kernel counts flow births per device (bpf/fp_devstats.bpf.h): the N
# flows' first packets came in on fpa-h and left through fpb-h (a few
# more for the lab's own packets at most), and nothing was lost.
in_a=$(lab_births fpa-h 0) out_b=$(lab_births fpb-h 1)
echo "births counted in the kernel: $in_a in on fpa-h, $out_b out through fpb-h"
if [ "$in_a" -lt "$N" ] || [ "$in_a" -gt $((N + 10)) ]; then lab_fail "$in_a births on fpa-h for $N flows"; fi
if [ "$out_b" -lt "$N" ] || [ "$out_b" -gt $((N + 10)) ]; then lab_fail "$out_b births on fpb-h for $N flows"; fi
# Listings: the 100 biggest by default, biggest first; --limit; --all a
# page at a time, each flow once, the followed ones first and biggest
# first: more followed flows than a page of 2000 here.
ip netns exec fpA ping -q -c 3 -i 0.2 10.201.2.2 >/dev/null # one flow more than a page
more_than_a_page() { status; [ "$(field flows)" -gt 2000 ]; }
lab_wait_for 5 more_than_a_page || lab_fail "the ping's flow is not in the table: $(field flows) flows"
# The three listings are three calls: a flow's counters may be refreshed
# by a sweep between them (a quiet flow's can be up to 8 sweeps old), so
# they are taken again until the sweeps have settled; a wrong order or
# count fails every time.
listings_right() {
    fpctl flows --json >"$LAB_DIR/top.json"
    fpctl flows --limit 7 --json >"$LAB_DIR/top7.json"
    fpctl flows --all --json >"$LAB_DIR/all.json"
    "$PY" - "$LAB_DIR" 2>"$LAB_DIR/listings.err" <<'PY'
import json, sys
d = sys.argv[1]
top, top7, every = (json.load(open(f"{d}/{n}.json")) for n in ("top", "top7", "all"))
size = lambda f: f["bytes_orig"] + f["bytes_reply"]
key = lambda f: (f["proto"], f["src"], f["sport"], f["dst"], f["dport"], f["zone"])
assert len(top) == 100, f"default listing has {len(top)} flows, not 100"
assert len(top7) == 7, f"--limit 7 gave {len(top7)}"
# --all: the followed flows biggest first, then conntrack's other entries
# (the host's own, say) in the table's order.
# (A flow followed after its part was listed comes in that order too.)
nf = next((i for i, f in enumerate(every) if not f["followed"]), len(every))
followed = every[:nf]
assert nf >= 2001, f"--all lists {nf} followed flows first"
assert all(size(a) >= size(b) for a, b in zip(followed, followed[1:])), \
    "--all's followed flows are not biggest first"
assert len(every) > 2000, f"--all listed {len(every)}: not more than one page"
assert len({key(f) for f in every}) == len(every), "--all listed a flow twice"
ours = sum(f["proto"] == "udp" and f["dst"] == "10.201.2.2" and f["dport"] == 9 for f in every)
assert ours == 2000, f"--all listed {ours} of the 2000 quiet flows"
biggest = sorted(size(f) for f in followed)[::-1]
assert [size(f) for f in top] == biggest[:100], "the default listing is not the 100 biggest"
assert [size(f) for f in top7] == biggest[:7], "--limit 7 is not the 7 biggest"
print(f"listings: 100 of {len(every)} by default, 7 with --limit 7, {len(every)} with --all")
PY
}
lab_wait_for 20 listings_right || lab_fail "footprintctl flows listings are wrong: $(tail -n 2 "$LAB_DIR/listings.err")"
status
if fpctl flows --limit 0 >/dev/null 2>&1; then lab_fail "--limit 0 accepted"; fi
[ "$(field devstats_full)" = 0 ] || lab_fail "the device map lost $(field devstats_full) counts"
[ "$(field devices_counted)" -ge 2 ] || lab_fail "the agent reads $(field devices_counted) devices"
status
sweeps0=$(field sweeps) queries0=$(field sweep_queries) dumps0=$(field sweep_dumps)
enough_sweeps() { status; [ "$(field sweeps)" -ge $((sweeps0 + 12)) ]; }
lab_wait_for 20 enough_sweeps || lab_fail "the agent does not sweep: $(cat "$LAB_DIR/status.json")"
sweeps=$(($(field sweeps) - sweeps0)) queries=$(($(field sweep_queries) - queries0))
dumps=$(($(field sweep_dumps) - dumps0))
echo "over $sweeps sweeps of $N quiet flows: $queries queries, $dumps dumps"
[ "$dumps" = 0 ] || lab_fail "$dumps of $sweeps sweeps dumped conntrack"
# Backing off to every 8th sweep: 12 sweeps ask about each flow ~3 times.
[ "$queries" -lt $((sweeps * N / 2)) ] ||
    lab_fail "$queries queries over $sweeps sweeps: quiet flows are not spared"
[ "$(lab_flows)" = "$N" ] || lab_fail "only $(lab_flows) of $N quiet flows still listed"
[ "$(field flows_log_lost)" = 0 ] || lab_fail "the new-flow log lost $(field flows_log_lost) records"

# The flows move again, all of them at every sweep for 3 s: more than a
# sweep's queries can follow, so they take turns, none waits long enough
# for a dump, and once they stand still every flow's counters catch up.
status
dumps0=$(field sweep_dumps)
send 15
counted() {
    fpctl flows --all --json | "$PY" -c 'import json,sys
fs = [f for f in json.load(sys.stdin) if f["proto"] == "udp" and f["dport"] == 9]
sys.exit(not (len(fs) == int(sys.argv[1]) and all(f["packets_orig"] == 16 for f in fs)))' "$N"
}
lab_wait_for 15 counted || lab_fail "the flows' counters did not catch up with 16 datagrams each"
status
dumps=$(($(field sweep_dumps) - dumps0))
[ "$dumps" = 0 ] || lab_fail "$dumps sweeps dumped conntrack while $N flows moved"

# Ended in conntrack: gone from the agent too (destroy events).
conntrack -D -p udp -d 10.201.2.2 >/dev/null 2>&1 || true
none_listed() { [ "$(lab_flows)" = 0 ]; }
lab_wait_for 10 none_listed || lab_fail "$(lab_flows) deleted UDP flows still listed"
lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(cat "$LAB_DIR/agent.log")"
echo "PASS: quiet flows"

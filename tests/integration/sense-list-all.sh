#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `footprintctl flows --all` lists the whole conntrack table, not only the
# flows the agent follows (issue 16): 12000 quiet UDP flows from fpA and
# 300 from fpB, [sense] flows_max=1024, so the agent follows at most 1024.
# fpa-h is the "tap" of a libvirt test-driver VM (fp16vm, in-process
# test:/// URI: no libvirtd).  Checks, against `conntrack -L`:
#  - --all --json lists every conntrack entry of the lab's addresses,
#    exactly the same tuples, none twice, the followed ones first and
#    biggest first;
#  - the listing is paged (no reply over 2 MiB), and while it is paused
#    half-way `footprintctl status` answers and shows it open, and its
#    cursor is refused to another bus connection;
#  - --vm fp16vm lists fpA's flows and none of fpB's: the followed ones
#    by their devices, the rest by the addresses the followed ones showed;
#  - --elephants lists no unfollowed entry;
#  - the agent's memory does not grow with the table: its peak (VmHWM)
#    over eight whole listings (12x the followed flows) stays within 2 MiB
#    of its peak after one page of 1000 followed flows.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT
FLOWS=$FP_BUILDDIR/tests/perf/fp-scale-flows
PAGES=$FP_BUILDDIR/tests/integration/fp-list-pages
MAX=1024

command -v virsh >/dev/null || lab_fail "virsh missing (apt-get install libvirt-clients)"
lab_setup
lab_require_bpf_backend "the whole-table listing test needs"
lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout 300
lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout_stream 300
cat >"$LAB_DIR/node.xml" <<'XML'
<node>
  <domain type='test'>
    <name>fp16vm</name>
    <uuid>16161616-1616-4616-8616-161616161616</uuid>
    <memory>65536</memory>
    <vcpu>1</vcpu>
    <os><type>hvm</type></os>
    <devices>
      <interface type='ethernet'>
        <mac address='52:54:00:16:00:01'/>
        <target dev='fpa-h' managed='no'/>
      </interface>
    </devices>
  </domain>
</node>
XML
LAB_SWEEP_MS=200 lab_start_agent "flows_max=$MAX" "[libvirt]" "uri=test://$LAB_DIR/node.xml"
# Born while the agent runs: it follows the first flows_max, refuses the
# rest (entries that existed before it started it does not follow at all).
ip netns exec fpA "$FLOWS" fill 10.201.1.1 12 1000 >/dev/null
ip netns exec fpB "$FLOWS" fill 10.201.2.1 3 100 >/dev/null
[ "$(conntrack -C)" -gt 12300 ] || lab_fail "only $(conntrack -C) conntrack entries after the fill"
status() { fpctl status --json >"$LAB_DIR/status.json"; }
field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$LAB_DIR/status.json" "$1"; }
full() { status; [ "$(field sweeps)" -ge 5 ] && [ "$(field flows)" -ge $((MAX / 2)) ]; }
lab_wait_for 30 full || lab_fail "the agent follows no flows: $(cat "$LAB_DIR/status.json")"
[ "$(field flows)" -le $MAX ] || lab_fail "$(field flows) flows followed, flows_max $MAX"
vm_known() { fpctl vms --json | grep fp16vm >/dev/null; }
lab_wait_for 10 vm_known || lab_fail "the test-driver VM fp16vm is not known"

# The lab's entries as conntrack lists them: "proto src sport dst dport".
lab_tuples() {
    conntrack -L 2>/dev/null | "$PY" -c '
import sys
for line in sys.stdin:
    w = line.split()
    kv = {}
    for x in w:
        if "=" in x:
            k, v = x.split("=", 1)
            kv.setdefault(k, v)
    if "sport" not in kv or not (kv["src"].startswith("10.201.") or kv["src"].startswith("fd00:201:")):
        continue
    print(w[0], kv["src"], kv["sport"], kv["dst"], kv["dport"])' | sort
}
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$LAB_AGENT_PID/status"; }
# The peak of one page of 1000 followed flows (a reply's variants are
# most of an agent's transient memory), before any whole-table listing.
fpctl flows --json --limit 1000 >/dev/null
hwm0=$(hwm)

# A listing paused after its first page: the agent answers meanwhile.
"$PAGES" 250 3 "$LAB_DIR/marker" >"$LAB_DIR/paged.txt" 2>"$LAB_DIR/paged.err" &
pager=$!
paused() { [ -s "$LAB_DIR/marker" ]; }
lab_wait_for 10 paused || lab_fail "no first page: $(cat "$LAB_DIR/paged.err")"
t0=$(date +%s%N)
status
t1=$(date +%s%N)
[ "$(field flow_listings)" = 1 ] || lab_fail "status shows $(field flow_listings) listings open"
echo "ok - status answers in $(((t1 - t0) / 1000000)) ms with a listing open"
cursor=$(cat "$LAB_DIR/marker")
if out=$(gdbus call --system --dest org.footprintd.Footprint1 \
    --object-path /org/footprintd/Footprint1 \
    --method org.footprintd.Footprint1.ListFlowsPage \
    "{'all': <true>, 'after': <'$cursor'>}" 2>&1); then
    lab_fail "another connection continued listing $cursor: $out"
fi
echo "$out" | grep "no listing" >/dev/null || lab_fail "unexpected refusal: $out"
echo "ok - $cursor is refused to another connection: $(echo "$out" | head -1)"
wait $pager || lab_fail "the paged listing failed: $(cat "$LAB_DIR/paged.err")"
read -r _ npages _ nempty _ largest <"$LAB_DIR/paged.err"
[ "$largest" -lt $((2 * 1024 * 1024)) ] || lab_fail "a reply of $largest bytes"
status
[ "$(field flow_listings)" = 0 ] || lab_fail "a finished listing is still open"
echo "# longest page of a whole-table listing in the agent: $(field flow_listing_page_max_us) us"

lab_tuples >"$LAB_DIR/ct.txt"
fpctl flows --all --json >"$LAB_DIR/all.json"
lab_tuples >"$LAB_DIR/ct2.txt"
"$PY" - "$LAB_DIR/all.json" "$LAB_DIR/ct.txt" "$LAB_DIR/ct2.txt" "$LAB_DIR/paged.txt" "$MAX" <<'PY' ||
import json, sys
flows = json.load(open(sys.argv[1]))
ct = set(open(sys.argv[2]).read().split("\n")) - {""}
ct2 = set(open(sys.argv[3]).read().split("\n")) - {""}
maxf = int(sys.argv[5])
def t(f):
    return f"{f['proto']} {f['src']} {f['sport']} {f['dst']} {f['dport']}"
keys = [t(f) for f in flows]
assert len(keys) == len(set(keys)), f"{len(keys) - len(set(keys))} flows listed twice"
lab = [k for k in keys if k.split()[1].startswith(("10.201.", "fd00:201:"))]
stable = ct & ct2  # in conntrack before and after the listing
missing = stable - set(lab)
assert not missing, f"{len(missing)} conntrack entries not listed, e.g. {sorted(missing)[:3]}"
extra = set(lab) - (ct | ct2)
assert not extra, f"{len(extra)} listed flows not in conntrack, e.g. {sorted(extra)[:3]}"
assert len(lab) >= 12300, f"only {len(lab)} lab flows listed"
followed = [f["followed"] for f in flows]
nf = followed.index(False)
# Flows the agent took up after its part of the listing come later, in
# the table's order, marked followed.
assert 0 < nf <= maxf, f"{nf} followed flows listed first"
b = [f["bytes_orig"] + f["bytes_reply"] for f in flows[:nf]]
assert b == sorted(b, reverse=True), "the followed flows are not biggest first"
paged = [" ".join(l.split()[:5]) for l in open(sys.argv[4]) if l.strip()]
assert len(paged) == len(set(paged)), "the paused listing listed a flow twice"
assert stable <= set(paged), f"the paused listing missed {len(stable - set(paged))}"
later = sum(followed[nf:])
print(f"ok - {len(lab)} lab flows listed of {len(flows)} ({nf} followed first, biggest first, "
      f"{later} followed later), "
      f"conntrack -L has {len(ct)}; no duplicate, none missing")
PY
    lab_fail "the whole-table listing differs from conntrack -L"
echo "ok - the paused listing: $npages pages of at most 250 ($nempty empty), largest reply $largest bytes"

fpctl flows --all --json --vm fp16vm >"$LAB_DIR/vm.json"
"$PY" - "$LAB_DIR/vm.json" "$LAB_DIR/ct.txt" <<'PY' || lab_fail "--vm fp16vm lists the wrong flows"
import json, sys
flows = json.load(open(sys.argv[1]))
ct = set(open(sys.argv[2]).read().split("\n")) - {""}
want = {k for k in ct if k.split()[1] == "10.201.1.2"}
got = {f"{f['proto']} {f['src']} {f['sport']} {f['dst']} {f['dport']}" for f in flows}
assert not any(k.split()[1] == "10.201.2.2" for k in got), "fpB's flows listed for fp16vm"
assert want <= got, f"{len(want - got)} of fpA's {len(want)} flows not listed for fp16vm"
assert all(f["vm_src"]["name"] == "fp16vm" for f in flows if f["src"] == "10.201.1.2")
by = {f["attributed_by"] for f in flows if not f["followed"]}
assert by == {"addresses"}, f"unfollowed flows attributed by {by}"
assert {f["attributed_by"] for f in flows if f["followed"]} == {"devices"}
print(f"ok - --vm fp16vm: {len(got)} flows, all {len(want)} of fpA's, none of fpB's "
      f"({sum(not f['followed'] for f in flows)} attributed by address)")
PY

fpctl flows --all --json --elephants >"$LAB_DIR/ele.json"
"$PY" -c 'import json,sys; f = json.load(open(sys.argv[1]))
assert all(x["followed"] and x["elephant"] for x in f), "--elephants listed a non-elephant"' \
    "$LAB_DIR/ele.json" || lab_fail "--all --elephants lists more than elephants"
echo "ok - --all --elephants lists only followed elephants"

for _ in 1 2 3 4 5; do fpctl flows --all --json >/dev/null; done
hwm1=$(hwm)
echo "# agent VmHWM ${hwm0} kB after a 1000-flow page, ${hwm1} kB after eight whole listings"
if grep -a -q __asan_init "/proc/$LAB_AGENT_PID/exe"; then
    # AddressSanitizer keeps freed memory in its quarantine (256 MiB), so
    # the peak grows with whatever is freed: the bound says nothing there.
    echo "# peak RSS bound not checked: an AddressSanitizer build (its quarantine holds freed memory)"
else
    [ $((hwm1 - hwm0)) -le 2048 ] ||
        lab_fail "the agent's peak RSS grew by $((hwm1 - hwm0)) kB over whole-table listings"
    echo "ok - eight listings of 12300+ entries raised the agent's peak RSS by $((hwm1 - hwm0)) kB" \
        "over one page of 1000 followed flows"
fi
lab_stop_agent || lab_fail "footprintd did not exit cleanly: $(tail -5 "$LAB_DIR/agent.log")"
echo "PASS: whole-table listing"

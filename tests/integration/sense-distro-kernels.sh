#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# footprintd on Debian 12's own kernels, which build conntrack as a module
# (this host's kernel has it built in, so no other test would notice what
# that changes).  Each kernel boots in a TCG guest (qemu without KVM) whose
# initramfs holds footprintd, footprintctl, a private bus and the conntrack
# modules (tests/lib/distro-guest.sh); two iperf3 flows cross conntrack
# over loopback, and one is forwarded between two network namespaces, each
# behind a veth pair.  On both kernels a BPF backend runs and: every flow is
# logged by the kernel program with its devices (lo; in fp19a, out fp19b),
# elephant events come from it (elephant_by "bpf"), no read fails, and the
# finished flows' bytes agree with conntrack's.  A flow inside one of the
# namespaces (conntrack on there too) is neither logged nor listed.
#  - 6.12 (linux-image-6.12.*-cloud-amd64-unsigned, in bookworm): the BPF
#    netfilter backend, conntrack's types relocated from the nf_conntrack
#    module's BTF.
#  - 6.1 (linux-image-cloud-amd64): no BPF netfilter programs; --probe and
#    the status say so, and the fentry backend runs, on ipv4_confirm and
#    ipv6_confirm.  The finished flows' bytes equal conntrack's exactly.
# The kernel packages are downloaded once into the lab cache.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/vmlab.sh
. "$FP_SRCDIR/tests/lab/vmlab.sh"
# shellcheck source=../lib/distro-guest.sh
. "$FP_SRCDIR/tests/lib/distro-guest.sh"
trap lab_cleanup EXIT

[ "$(id -u)" = 0 ] || lab_skip "needs root (apt-get download, qemu)"
vmlab_install_packages || lab_fail "cannot install qemu, busybox-static, iperf3 (vmlab_install_packages)"
lab_begin

# The guest's /init after distro_guest_prologue: the flows, then what the
# host checks, each line tagged FPT-<WHAT>.  Two iperf3 flows over loopback,
# then one forwarded between two network namespaces, each behind a veth
# pair: in on fp19a, out through fp19b.
guest_init() {
    distro_guest_prologue
    cat <<'INIT'
iperf3 -s -p 5201 -D
sleep 1
iperf3 -c 127.0.0.1 -p 5201 -n 40M >/tmp/iperf.log 2>&1 || echo "FPT-ERROR iperf3 bulk"
iperf3 -c 127.0.0.1 -p 5201 -t 8 -b 30M >/tmp/iperf2.log 2>&1 &
sleep 5
# Now: conntrack forgot the finished flow within the 15 s the rest takes.
echo "FPT-FLOWSLO $(footprintctl flows --json | tr -d '\n')"
conntrack -L -o extended 2>/dev/null | sed 's/^/FPT-CONNTRACK /'
# /bin/ip: iproute2 (network namespaces); a bare "ip" is busybox's applet,
# which its shell prefers to any file.
echo 1 >/proc/sys/net/ipv4/ip_forward
for n in a b; do
    net=1; [ $n = b ] && net=2
    /bin/ip netns add fp19$n && /bin/ip link add fp19$n type veth peer name eth0 netns fp19$n &&
        /bin/ip addr add 10.19.$net.1/24 dev fp19$n && /bin/ip link set fp19$n up &&
        /bin/ip -n fp19$n addr add 10.19.$net.2/24 dev eth0 && /bin/ip -n fp19$n link set eth0 up &&
        /bin/ip -n fp19$n link set lo up && /bin/ip -n fp19$n route add default via 10.19.$net.1 ||
        echo "FPT-ERROR netns fp19$n"
done
/bin/ip netns exec fp19b iperf3 -s -p 5202 -D
sleep 1
/bin/ip netns exec fp19a iperf3 -c 10.19.2.2 -p 5202 -n 24M >/tmp/iperf3.log 2>&1 ||
    echo "FPT-ERROR iperf3 between namespaces: $(tail -n 3 /tmp/iperf3.log)"
# A flow inside namespace fp19a, whose conntrack is on too: none of the
# agent's (it only asks its own namespace's conntrack), so the kernel
# program must not log it (a traced function runs in every namespace).
/bin/ip netns exec fp19a nft -f /etc/lab.nft || echo "FPT-ERROR nft in fp19a"
/bin/ip netns exec fp19a iperf3 -s -p 5203 -D
sleep 1
echo "FPT-NEWA $(footprintctl status --json | tr -d '\n')"
/bin/ip netns exec fp19a iperf3 -c 127.0.0.1 -p 5203 -n 12M >/tmp/iperf4.log 2>&1 ||
    echo "FPT-ERROR iperf3 inside fp19a: $(tail -n 3 /tmp/iperf4.log)"
sleep 1
echo "FPT-NEWB $(footprintctl status --json | tr -d '\n')"
echo "FPT-STATUS $(footprintctl status --json | tr -d '\n')"
echo "FPT-FLOWS $(footprintctl flows --json | tr -d '\n')"
conntrack -L -o extended 2>/dev/null | sed 's/^/FPT-CONNTRACK /'
INIT
    distro_guest_epilogue
}

guest_init >"$LAB_DIR/init"
kdir=$(distro_guest_kernel_612) || lab_fail "no 6.12 kernel"
distro_guest_boot "$kdir" "$LAB_DIR/init" linux-6.12
kdir=$(distro_guest_kernel_61) || lab_fail "no 6.1 kernel"
distro_guest_boot "$kdir" "$LAB_DIR/init" linux-6.1

"$PY" - "$LAB_DIR" <<'PY'
import json, re, sys
lab = sys.argv[1]
failed = []
def check(cond, what):
    print(("ok" if cond else "FAIL") + f" - {what}")
    if not cond:
        failed.append(what)

def parse(name):
    out = {"probe": [], "conntrack": [], "log": [], "errors": []}
    for line in open(f"{lab}/{name}.console", errors="replace"):
        line = line.rstrip("\r\n")
        m = re.match(r".*?FPT-([A-Z]+) ?(.*)", line)
        if not m:
            continue
        tag, rest = m.group(1), m.group(2)
        if tag in ("STATUS", "NEWA", "NEWB", "FLOWSLO"):
            out[tag.lower()] = json.loads(rest)
        elif tag == "FLOWS":
            out["flows"] = json.loads(rest)
        elif tag in ("PROBE", "CONNTRACK", "LOG"):
            out[tag.lower()].append(rest)
        elif tag == "ERROR":
            out["errors"].append(rest)
    return out

def bulk(flows, port):
    """The iperf3 data flows to port (the control ones carry < 1 MiB)."""
    return [f for f in flows if f["dport"] == port and f["bytes_orig"] > 1 << 20]

def conntrack_bytes(lines, sport, dport):
    for l in lines:
        if f"sport={sport} dport={dport}" in l:
            return int(re.search(r"bytes=(\d+)", l).group(1))
    return None

def check_kernel(name, backend, exact):
    """The checks both kernels pass with their own BPF backend.  exact: the
    finished flows' bytes must equal conntrack's, not only agree within 1 %."""
    g = parse(name)
    st, flows = g.get("status", {}), g.get("flows", [])
    print(f"# {name}: {st.get('backend_reason')}")
    check(not g["errors"], f"{name}: the guest ran everything {g['errors']}")
    check(st.get("backend") == backend, f"{name} (conntrack a module): the {backend} backend runs")
    check(st.get("read_errors") == 0, f"{name}: no read of conntrack failed")
    check(st.get("flows_new", 0) >= 6, f"{name}: the kernel program logged the new flows ({st.get('flows_new')})")
    check(st.get("events", 0) >= 2, f"{name}: elephant events came from the kernel program ({st.get('events')})")
    big = bulk(g.get("flowslo", []), 5201)
    check(len(big) == 2, f"{name}: both iperf3 data flows over lo listed ({len(big)})")
    check(all("lo" in (f["in_dev"], f["out_dev"]) for f in big), f"{name}: their device is lo")
    def same_bytes(f, dport, what):
        ct = conntrack_bytes(g["conntrack"], f["sport"], dport)
        ok = ct is not None and (f["bytes_orig"] == ct if exact else abs(f["bytes_orig"] - ct) <= ct / 100)
        check(ok, f"{name}: {what}'s bytes {'equal' if exact else 'agree with'} conntrack's "
                  f"({f['bytes_orig']} vs {ct})")
    done = [f for f in big if f["bytes_orig"] >= 40 << 20]
    check(len(done) == 1 and done[0]["elephant"], f"{name}: the finished 40 MiB flow is an elephant "
          f"({[(f['sport'], f['bytes_orig'], f['elephant_by']) for f in big]})")
    if done:
        same_bytes(done[0], 5201, "the 40 MiB flow")
    # The forwarded flow between the namespaces: attributed to both of its
    # devices, found an elephant in the kernel, counted exactly.
    fwd = [f for f in bulk(flows, 5202) if f["src"] == "10.19.1.2" and f["dst"] == "10.19.2.2"]
    check(len(fwd) == 1, f"{name}: the forwarded flow between the namespaces is listed ({len(fwd)})")
    if fwd:
        f = fwd[0]
        check((f["in_dev"], f["out_dev"]) == ("fp19a", "fp19b"),
              f"{name}: it came in on fp19a and left through fp19b ({f['in_dev']}, {f['out_dev']})")
        check(f["elephant"] and f.get("elephant_by") == "bpf",
              f"{name}: it is an elephant, found by the kernel ({f.get('elephant_by')})")
        same_bytes(f, 5202, "the forwarded flow")
    n0, n1 = g.get("newa", {}).get("flows_new"), g.get("newb", {}).get("flows_new")
    check(n0 is not None and n0 == n1,
          f"{name}: a flow inside another namespace is not logged (new flows {n0} -> {n1})")
    check(not bulk(flows, 5203), f"{name}: nor listed")
    return g, st

check_kernel("linux-6.12", "bpf-netfilter", False)
g, st = check_kernel("linux-6.1", "bpf-fentry", True)
check(any("BPF netfilter programs (Linux >= 6.4): no: kernel refused" in l for l in g["probe"]),
      "6.1: --probe says the kernel refuses the BPF netfilter program")
check(any(l.startswith("BPF fentry on conntrack's confirm functions (Linux >= 5.5): yes") for l in g["probe"])
      and "fentry functions: ipv4_confirm and ipv6_confirm" in g["probe"],
      "6.1: --probe says the fentry backend loads, on ipv4_confirm and ipv6_confirm")
check("bpf-netfilter refused" in st.get("backend_reason", "")
      and "needs Linux >= 6.4" in st.get("backend_reason", ""),
      "6.1: the status says why the netfilter backend was refused")
sys.exit(1 if failed else 0)
PY
echo "PASS: distribution kernels"

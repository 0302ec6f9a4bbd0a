#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# footprintd on Debian 12's own kernels, which build conntrack as a module
# (this host's kernel has it built in, so no other test would notice what
# that changes).  Each kernel boots in a TCG guest (qemu without KVM) whose
# initramfs holds footprintd, footprintctl, a private bus and the conntrack
# modules; two iperf3 flows cross conntrack over loopback.
#  - 6.12 (linux-image-6.12.*-cloud-amd64-unsigned, in bookworm): the BPF
#    backend loads, conntrack's types relocated from the nf_conntrack
#    module's BTF.  Both flows are logged by the kernel program with their
#    device (lo), an elephant event comes from it, no read fails, and the
#    finished 40 MiB flow's bytes agree with conntrack's.
#  - 6.1 (linux-image-cloud-amd64): no BPF netfilter programs; the agent
#    says why, runs on ctnetlink dumps and still finds the elephant.
# The kernel packages are downloaded once into the lab cache.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/vmlab.sh
. "$FP_SRCDIR/tests/lab/vmlab.sh"
trap lab_cleanup EXIT

[ "$(id -u)" = 0 ] || lab_skip "needs root (apt-get download, qemu)"
vmlab_install_packages || lab_fail "cannot install qemu, busybox-static, iperf3 (vmlab_install_packages)"
lab_begin
MODS=(nf_conntrack nf_conntrack_netlink nf_tables nft_ct)

# The guest's /init: loads the modules, probes, starts a private bus and
# the agent, runs the flows, and prints what the host checks, each line
# tagged FPT-<WHAT>.
guest_init() {
    cat <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp; mount -t tmpfs run /run
ip link set lo up
for m in $(cat /mods/order); do insmod /mods/$m.ko || echo "FPT-ERROR insmod $m"; done
footprintd --probe 2>/dev/null | sed 's/^/FPT-PROBE /'
dbus-daemon --config-file=/etc/bus.conf --nofork --nopidfile >/tmp/bus.log 2>&1 &
sleep 1
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/tmp/bus
nft -f /etc/lab.nft || echo "FPT-ERROR nft"
footprintd --config /etc/footprintd.conf >/tmp/agent.log 2>&1 &
i=0; until footprintctl status >/dev/null 2>&1; do i=$((i + 1)); [ $i -lt 100 ] || break; sleep 0.2; done
iperf3 -s -p 5201 -D
sleep 1
iperf3 -c 127.0.0.1 -p 5201 -n 40M >/tmp/iperf.log 2>&1 || echo "FPT-ERROR iperf3 bulk"
iperf3 -c 127.0.0.1 -p 5201 -t 8 -b 30M >/tmp/iperf2.log 2>&1 &
sleep 5
echo "FPT-STATUS $(footprintctl status --json | tr -d '\n')"
echo "FPT-FLOWS $(footprintctl flows --all --json | tr -d '\n')"
conntrack -L -o extended 2>/dev/null | sed 's/^/FPT-CONNTRACK /'
sed 's/^/FPT-LOG /' /tmp/agent.log
echo FPT-DONE
poweroff -f
INIT
}

# guest_image KDIR OUT: an initramfs with busybox, the agent and the tools
# it runs, their libraries, KDIR's modules and the lab's config.
guest_image() {
    local kdir=$1 out=$2 root b
    root=$(mktemp -d "$LAB_DIR/root.XXXXXX")
    mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc,mods}
    cp /bin/busybox "$root/bin/"
    for b in sh mount insmod poweroff sleep cat sed tr ip; do ln -s busybox "$root/bin/$b"; done
    for b in "$FP_BUILDDIR/src/footprintd" "$FP_BUILDDIR/src/footprintctl" "$(command -v dbus-daemon)" \
        "$(command -v nft)" "$(command -v iperf3)" "$(command -v conntrack)"; do
        vmlab_copy_binary "$root" "$b" || lab_fail "cannot copy $b into the guest image"
    done
    cp "$kdir"/mods/*.ko "$kdir/mods/order" "$root/mods/"
    cp "$FP_SRCDIR/conf/org.footprintd.Footprint1.conf" "$root/etc/"
    printf 'root:x:0:0:root:/:/bin/sh\nmessagebus:x:100:101::/run:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nmessagebus:x:101:\n' >"$root/etc/group"
    lab_bus_conf /tmp/bus /etc/org.footprintd.Footprint1.conf >"$root/etc/bus.conf"
    printf 'table ip fpt {\n chain out { type filter hook output priority 0; ct state new counter; }\n}\n' \
        >"$root/etc/lab.nft"
    printf '[agent]\nruntime_dir=/tmp/run\nstate_dir=/tmp/state\nsweep_interval_ms=500\n' \
        >"$root/etc/footprintd.conf"
    guest_init >"$root/init"
    chmod 755 "$root/init"
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$out"
    rm -rf "$root"
}

# boot KDIR NAME: boots KDIR's kernel on its image; the console goes to
# $LAB_DIR/NAME.console.  One CPU: with two, TCG let 6.12 crash at boot
# once in four (an int3 oops while the kernel patched its own code).
boot() {
    local kdir=$1 name=$2
    guest_image "$kdir" "$LAB_DIR/$name.img"
    lab_log "booting $name (${kdir##*/}) under TCG"
    timeout 300 qemu-system-x86_64 -accel tcg -m 1536 -smp 1 -nographic -no-reboot \
        -kernel "$kdir/vmlinuz" -initrd "$LAB_DIR/$name.img" \
        -append "console=ttyS0 quiet rdinit=/init panic=-1" >"$LAB_DIR/$name.console" 2>&1 || true
    grep -q FPT-DONE "$LAB_DIR/$name.console" ||
        lab_fail "$name: the guest did not finish: $(tail -n 30 "$LAB_DIR/$name.console")"
}

k612=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9.]+\+deb12-cloud-amd64-unsigned$' |
    awk '{print $1}' | sort -V | tail -n 1)
[ -n "$k612" ] || lab_fail "no linux-image-6.12.*-cloud-amd64-unsigned package (apt-get update?)"
kdir=$(vmlab__fetch_kernel "$k612" "${MODS[@]}") || lab_fail "cannot fetch $k612"
boot "$kdir" linux-6.12
kdir=$(vmlab__fetch_kernel "" "${MODS[@]}") || lab_fail "cannot fetch linux-image-cloud-amd64"
boot "$kdir" linux-6.1

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
        if tag == "STATUS":
            out["status"] = json.loads(rest)
        elif tag == "FLOWS":
            out["flows"] = json.loads(rest)
        elif tag in ("PROBE", "CONNTRACK", "LOG"):
            out[tag.lower()].append(rest)
        elif tag == "ERROR":
            out["errors"].append(rest)
    return out

def bulk(flows):
    """The iperf3 data flows to port 5201 (the control ones carry < 1 MiB)."""
    return [f for f in flows if f["dport"] == 5201 and f["bytes_orig"] > 1 << 20]

def conntrack_bytes(lines, sport):
    for l in lines:
        if f"sport={sport} dport=5201" in l:
            return int(re.search(r"bytes=(\d+)", l).group(1))
    return None

g = parse("linux-6.12")
st, flows = g.get("status", {}), g.get("flows", [])
print(f"# 6.12: {st.get('backend_reason')}")
check(not g["errors"], f"6.12: the guest ran everything {g['errors']}")
check(st.get("backend") == "bpf-netfilter", "6.12 (conntrack a module): the BPF backend runs")
check(st.get("read_errors") == 0, "6.12: no read of conntrack failed")
check(st.get("flows_new", 0) >= 4, f"6.12: the kernel program logged the new flows ({st.get('flows_new')})")
check(st.get("events", 0) >= 1, f"6.12: an elephant event came from the kernel program ({st.get('events')})")
big = bulk(flows)
check(len(big) == 2, f"6.12: both iperf3 data flows listed ({len(big)})")
check(all("lo" in (f["in_dev"], f["out_dev"]) for f in big), "6.12: their device is lo")
done = [f for f in big if f["bytes_orig"] >= 40 << 20]
check(len(done) == 1 and done[0]["elephant"], "6.12: the finished 40 MiB flow is an elephant")
if done:
    ct = conntrack_bytes(g["conntrack"], done[0]["sport"])
    check(ct is not None and abs(done[0]["bytes_orig"] - ct) <= ct / 100,
          f"6.12: its bytes agree with conntrack's within 1 % ({done[0]['bytes_orig']} vs {ct})")

g = parse("linux-6.1")
st, flows = g.get("status", {}), g.get("flows", [])
print(f"# 6.1: {st.get('backend_reason')}")
check(not g["errors"], f"6.1: the guest ran everything {g['errors']}")
check(any("BPF netfilter programs (Linux >= 6.4): no: kernel refused" in l for l in g["probe"]),
      "6.1: --probe says the kernel refuses the BPF program")
check(st.get("backend") == "ctnetlink" and "needs Linux >= 6.4" in st.get("backend_reason", ""),
      "6.1: the agent runs on ctnetlink and says why")
check(any(f["elephant"] for f in bulk(flows)), "6.1: the elephant is found from the dumps")
sys.exit(1 if failed else 0)
PY
echo "PASS: distribution kernels"

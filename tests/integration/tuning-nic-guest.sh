#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The CPU lever's NIC part on a real multi-queue NIC with RSS: this host has
# none (eth0 is a 1-queue virtio-net), so a TCG guest (Debian 12's 6.1
# kernel) gets one: virtio-net with 4 queue pairs and RSS, which qemu
# computes in software (no vhost; its eBPF steering does not load here)
# with the key and table the guest's driver gives it.  4 vCPUs, so that the
# driver starts all 4 queue pairs: its RSS command carries the queue count
# it had at probe, and `ethtool -L` after (MQ_VQ_PAIRS_SET) turns qemu's
# RSS off, so a 2-CPU guest raised to 4 queues delivered nothing by the
# table.  Inside the guest, fp-nic-drive (it links the tuning library;
# footprintd cannot run the lever there: no libvirt, no VMs to make an
# elephant set from) reads the NIC, plans with CPUs 2-3 as the elephant
# set and one UDP flow from the host as the elephant, applies, and undoes
# through the journal's replay.  Checked:
#  - the queue IRQs read back from /proc/irq/N/smp_affinity_list: queues
#    2-3 (input and output) on CPUs 2-3, queues 0-1 on CPUs 0-1;
#  - the table read back with `ethtool -x`: only the elephant's slot(s) on
#    queues 2-3;
#  - packets sent from the host: the elephant's all land on its elephant
#    queue, a second flow's (a mouse, any port whose slot is not the
#    elephant's) on queues 0-1 (rx_queue_N_packets of `ethtool -S`).  The
#    hash qemu computes equals fp_nic_rss_hash()'s (FP15N_QEMU_TRACE=1
#    traces it).  Before the first table write the 6.1 driver has not sent
#    qemu any RSS configuration: the elephant's first packets (E0) land
#    where the tap's own queue choice puts them;
#  - irqbalance detection, with a stand-in process (no irqbalance in the
#    guest) named "irqbalance" run with --banirq=N: every other queue IRQ
#    is "managed by irqbalance (pid P): left alone", IRQ N is planned; with
#    --override all are planned;
#  - the journal's replay puts every IRQ and the table back as found;
#  - a crash (SIGKILL) after the third write, and one right after the
#    table's write, then replay: every IRQ and the table as found;
#  - on the host, in a netns of its own: the reply tuple the tuner hashes
#    for an outbound elephant is conntrack's, NAT included (a SNAT'd entry
#    made with conntrack -I, read back through the ctmark knob's query).
# The guest kernel is downloaded once into the lab cache.  Touches no
# host-wide state but its own tap (fp15n-tap): no lab lock.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
# shellcheck source=../lab/vmlab.sh
. "$FP_SRCDIR/tests/lab/vmlab.sh"

TAP=fp15n-tap
NET=10.157.0
GUEST_MAC=52:54:00:15:7e:02
QEMU_PID=
DIR=

cleanup() {
    set +e
    [ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null && wait "$QEMU_PID" 2>/dev/null
    ip link del "$TAP" 2>/dev/null
    ip netns del fp15n-ct 2>/dev/null
    [ -n "$DIR" ] && [ -z "${LAB_KEEP:-}" ] && rm -rf "$DIR"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || lab_skip "needs root (a tap, qemu)"
vmlab_install_packages || lab_fail "cannot install qemu, busybox-static (vmlab_install_packages)"
command -v ethtool >/dev/null || lab_fail "ethtool missing (quickstart.sh installs it)"
[ -x "$FP_BUILDDIR/tests/integration/fp-nic-drive" ] || lab_fail "build tests/integration/fp-nic-drive first (make check)"
DIR=$(mktemp -d /tmp/fp15n-nic.XXXXXX)

# The reply tuple of a NAT'd flow, as the tuner reads it from conntrack.
ip netns del fp15n-ct 2>/dev/null || true
ip netns add fp15n-ct
ip netns exec fp15n-ct conntrack -I -p udp -s 10.99.0.2 -d 198.51.100.7 --sport 41000 --dport 5201 \
    --reply-src 198.51.100.7 --reply-dst 203.0.113.1 --reply-port-src 5201 --reply-port-dst 61000 \
    --timeout 60 >/dev/null 2>&1 || lab_fail "conntrack -I in netns fp15n-ct failed"
reply=$(ip netns exec fp15n-ct "$FP_BUILDDIR/tests/integration/fp-nic-drive" ct-reply \
    "udp:10.99.0.2:41000>198.51.100.7:5201") || lab_fail "ct-reply: $reply"
[ "$reply" = "FPT-REPLY udp:198.51.100.7:5201>203.0.113.1:61000" ] ||
    lab_fail "the reply tuple read from conntrack is '$reply', not the SNAT'd one"
ip netns del fp15n-ct
lab_log "a SNAT'd elephant's reply tuple, as hashed for the NIC: ${reply#FPT-REPLY }"
KDIR=$(vmlab__fetch_kernel) || lab_fail "cannot fetch the guest kernel (linux-image-cloud-amd64)"

guest_init() {
    cat <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp; mount -t tmpfs run /run
for m in $(cat /mods/order); do insmod /mods/$m.ko || echo "FPT-ERROR insmod $m"; done
i=0; until [ -e /sys/class/net/eth0 ]; do i=$((i + 1)); [ $i -lt 50 ] || break; sleep 0.2; done
ip link set lo up; ip link set eth0 up; ip addr add 10.157.0.2/24 dev eth0
echo "FPT-CPUS $(cat /sys/devices/system/cpu/online)"
E="udp:10.157.0.1:40001>10.157.0.2:5001"
snap() {
    for d in /proc/irq/*/virtio*-input.* /proc/irq/*/virtio*-output.*; do
        n=${d#/proc/irq/}; n=${n%%/*}
        echo "FPT-$1-IRQ $n ${d##*/} $(cat /proc/irq/$n/smp_affinity_list)"
    done
    ethtool -x eth0 | sed "s/^/FPT-$1-X /"
}
stats() { ethtool -S eth0 | grep -E 'rx_queue_[0-9]+_packets' | tr -d ' ' | tr '\n' ' '; }
total() { ethtool -S eth0 | grep -E 'rx_queue_[0-9]+_packets' | sed 's/.*: *//' | { s=0; while read -r v; do s=$((s + v)); done; echo $s; }; }
# send TAG [PORT]: ask the host for 300 packets, wait until they are in.
send() {
    before=$(total)
    echo "FPT-STAT-$1-BEFORE $(stats)"
    echo "FPT-SEND $1 ${2:-}"
    i=0; while [ $(($(total) - before)) -lt 300 ] && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.2; done
    sleep 1
    echo "FPT-STAT-$1-AFTER $(stats)"
}
snap S0
fp-nic-drive hash eth0 "$E" | sed 's/^FPT-/FPT-BEFORE-/'
send E0
fp-nic-drive apply /tmp/state eth0 2-3 "$E" | sed 's/^/FPT-A1 /'
snap S1
fp-nic-drive hash eth0 "$E"
p=40100
while [ $p -lt 40200 ]; do
    q=$(fp-nic-drive hash eth0 "udp:10.157.0.1:$p>10.157.0.2:5002" | sed -n 's/.*queue=//p')
    [ "$q" = 0 ] || [ "$q" = 1 ] && break
    p=$((p + 1))
done
fp-nic-drive hash eth0 "udp:10.157.0.1:$p>10.157.0.2:5002" | sed 's/^FPT-/FPT-MOUSE-/'
send E1
send M1 $p
n=$(ls -d /proc/irq/*/virtio*-input.3 | cut -d/ -f4)
echo "FPT-BANNED $n"
fp-nic-drive standin-irqbalance --foreground --banirq=$n &
sb=$!
sleep 0.5
fp-nic-drive plan /tmp/state eth0 2-3 "$E" | sed 's/^/FPT-IB /'
fp-nic-drive plan /tmp/state eth0 2-3 --override "$E" | sed 's/^/FPT-IBO /'
kill $sb
fp-nic-drive replay /tmp/state | sed 's/^/FPT-R1 /'
snap S2
FP_NIC_DRIVE_KILL_AFTER=3 fp-nic-drive apply /tmp/state eth0 2-3 "$E" >/tmp/c1.log 2>&1
echo "FPT-EXIT1 $?"
sed 's/^/FPT-C1 /' /tmp/c1.log
echo "FPT-JOURNAL1 $(ls /tmp/state | wc -l)"
snap S3
fp-nic-drive replay /tmp/state | sed 's/^/FPT-R2 /'
snap S4
FP_NIC_DRIVE_KILL_AFTER=LAST fp-nic-drive apply /tmp/state eth0 2-3 "$E" >/tmp/c2.log 2>&1
echo "FPT-EXIT2 $?"
sed 's/^/FPT-C2 /' /tmp/c2.log
snap S5
fp-nic-drive replay /tmp/state | sed 's/^/FPT-R3 /'
snap S6
echo FPT-DONE
poweroff -f
INIT
}

# The image: busybox, ethtool and fp-nic-drive with their libraries, the
# virtio modules, the /init above.
root=$DIR/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,mods}
mknod "$root/dev/console" c 5 1 2>/dev/null || true
cp /bin/busybox "$root/bin/"
for b in sh mount insmod poweroff sleep cat sed tr grep ip ls cut kill wc; do ln -s busybox "$root/bin/$b"; done
for b in "$(command -v ethtool)" "$FP_BUILDDIR/tests/integration/fp-nic-drive"; do
    vmlab_copy_binary "$root" "$b" || lab_fail "cannot copy $b into the guest image"
done
cp "$KDIR"/mods/*.ko "$KDIR/mods/order" "$root/mods/"
guest_init >"$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$DIR/initrd.img"

# The host's end: a 4-queue tap, no IPv6 chatter, the guest's MAC known.
ip link del "$TAP" 2>/dev/null || true
ip tuntap add dev "$TAP" mode tap multi_queue
sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
ip addr add "$NET.1/24" dev "$TAP"
ip link set "$TAP" up
ip neigh replace "$NET.2" lladdr "$GUEST_MAC" dev "$TAP" nud permanent

lab_log "booting the guest (${KDIR##*/}, 4 CPUs, virtio-net 4 queues, rss=on) under TCG"
start=$(date +%s)
timeout 300 qemu-system-x86_64 -accel tcg -m 768 -smp 4 -nographic -no-reboot \
    -kernel "$KDIR/vmlinuz" -initrd "$DIR/initrd.img" \
    -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,queues=4" \
    -device "virtio-net-pci,netdev=n0,mq=on,vectors=10,rss=on,mac=$GUEST_MAC" \
    ${FP15N_QEMU_TRACE:+-trace "net_rx_pkt_rss*" -trace "virtio_net_rss*"} \
    -append "console=ttyS0 quiet rdinit=/init panic=-1" >"$DIR/console" 2>&1 &
QEMU_PID=$!

# send_udp SPORT DPORT: 300 datagrams from the host to the guest.
send_udp() {
    python3 - "$NET.1" "$1" "$NET.2" "$2" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
for i in range(300):
    s.sendto(b"x" * 64, (sys.argv[3], int(sys.argv[4])))
    time.sleep(0.002)
PY
}

served=0
while kill -0 "$QEMU_PID" 2>/dev/null; do
    mapfile -t asks < <(grep -a '^FPT-SEND ' "$DIR/console" | tr -d '\r' || true)
    while [ "$served" -lt "${#asks[@]}" ]; do
        read -r _ tag port <<<"${asks[$served]}"
        case $tag in
            M*) send_udp "$port" 5002 ;;
            *) send_udp 40001 5001 ;;
        esac
        served=$((served + 1))
    done
    sleep 0.2
done
wait "$QEMU_PID" || true
QEMU_PID=
lab_log "guest ran $(($(date +%s) - start)) s"
# (The console's first line starts with the terminal's reset sequences.)
tr -d '\r' <"$DIR/console" | sed 's/^[^F]*FPT-/FPT-/' >"$DIR/out"
out=$DIR/out
grep -q '^FPT-DONE' "$out" || lab_fail "the guest did not finish: $(tail -n 40 "$out")"
if grep -a '^FPT-ERROR\|FPT-[A-Z0-9]* FPT-ERROR' "$out"; then lab_fail "errors in the guest"; fi
# A sanitized build's reports go to the console (the gate's log_path is the host's).
if grep -a -E 'Sanitizer|runtime error:' "$out"; then lab_fail "sanitizer reports in the guest"; fi

# lines TAG KIND: the snapshot's lines without their tag.
lines() { sed -n "s/^FPT-$1-$2 //p" "$out"; }
irq_of() { lines S1 IRQ | awk -v n="$1" '$2 ~ n"$" {print $3}'; }

grep '^FPT-CPUS 0-3$' "$out" >/dev/null || lab_fail "the guest does not have CPUs 0-3: $(grep '^FPT-CPUS' "$out")"
[ "$(lines S0 IRQ | wc -l)" -eq 8 ] || lab_fail "expected 8 queue IRQs: $(lines S0 IRQ)"
lab_log "IRQs as found: $(lines S0 IRQ | awk '{print $2"="$3}' | tr '\n' ' ')"

# 1. IRQs: queues 2-3 on CPUs 2-3, 0-1 on CPUs 0-1.
for q in 0 1 2 3; do
    want=0-1; [ $q -ge 2 ] && want=2-3
    for kind in input output; do
        got=$(irq_of "-$kind\\.$q")
        [ "$got" = "$want" ] || lab_fail "queue $q's $kind IRQ is on CPUs '$got' after apply, not $want"
    done
done
lab_log "IRQs after apply: $(lines S1 IRQ | awk '{print $2"="$3}' | tr '\n' ' ')"
sed -n 's/^FPT-A1 FPT-TIME //p' "$out" | while read -r t; do lab_log "the lever took $t (read, plan, journal, write)"; done

# 2. The table: the elephant's slots on queues 2-3, every other on 0-1.
table_of() { lines "$1" X | grep -E '^ *[0-9]+: ' | sed 's/^ *[0-9]*://' | tr -s ' ' '\n' | grep -v '^$' || true; }
el_q=$(sed -n 's/^FPT-HASH udp:10.157.0.1:40001.* queue=//p' "$out")
case $el_q in 2 | 3) ;; *) lab_fail "the elephant's slot points at queue '$el_q' after apply, not 2 or 3" ;; esac
hot=$(table_of S1 | grep -c '^[23]$' || true)
size=$(table_of S1 | wc -l)
{ [ "$hot" -ge 1 ] && [ "$hot" -le 2 ]; } || lab_fail "$hot of $size slots on queues 2-3 (ethtool -x), expected the elephant's 1 or 2"
lab_log "table: $size slots, $hot on the elephant queues; elephant $(sed -n 's/^FPT-BEFORE-HASH //p' "$out") before, $(grep '^FPT-HASH udp:10.157.0.1:40001' "$out" | cut -d' ' -f3-) after"

# 3. Packets: per-queue deltas of each send.
delta() { # TAG QUEUE
    local b a
    b=$(sed -n "s/^FPT-STAT-$1-BEFORE //p" "$out" | tr ' ' '\n' | sed -n "s/^rx_queue_$2_packets://p")
    a=$(sed -n "s/^FPT-STAT-$1-AFTER //p" "$out" | tr ' ' '\n' | sed -n "s/^rx_queue_$2_packets://p")
    echo $((a - b))
}
for tag in E0 E1 M1; do lab_log "$tag: rx packets per queue: $(for q in 0 1 2 3; do printf 'q%s=%s ' $q "$(delta $tag $q)"; done)"; done
[ "$(delta E1 "$el_q")" -ge 290 ] || lab_fail "the elephant's packets did not land on queue $el_q: $(for q in 0 1 2 3; do printf '%s ' "$(delta E1 $q)"; done)"
m_q=$(sed -n 's/^FPT-MOUSE-HASH .* queue=//p' "$out")
case $m_q in 0 | 1) ;; *) lab_fail "no mouse port found on queues 0-1" ;; esac
[ "$(delta M1 "$m_q")" -ge 290 ] || lab_fail "the mouse's packets did not land on queue $m_q"
[ $(($(delta M1 2) + $(delta M1 3))) -le 10 ] || lab_fail "the mouse's packets reached the elephant queues"

# 4. irqbalance: the stand-in's pid, its ban, what is left alone.
banned=$(sed -n 's/^FPT-BANNED //p' "$out")
grep -E '^FPT-IB FPT-IRQBALANCE pid=[0-9]+ banned=1 ' "$out" >/dev/null || lab_fail "the irqbalance stand-in was not detected"
left=$(grep -c '^FPT-IB FPT-NOTE nic eth0: IRQ [0-9]* (.*) managed by irqbalance (pid [0-9]*): left alone$' "$out" || true)
[ "$left" -eq 7 ] || lab_fail "$left IRQs left to irqbalance, expected 7 (all but the banned $banned)"
grep "^FPT-IB FPT-PLAN irq $banned:" "$out" >/dev/null || lab_fail "the banned IRQ $banned was not planned"
[ "$(grep -c '^FPT-IB FPT-PLAN irq ' "$out")" -eq 1 ] || lab_fail "IRQs irqbalance manages were planned"
[ "$(grep -c '^FPT-IBO FPT-PLAN irq ' "$out")" -eq 8 ] || lab_fail "with --override not every IRQ was planned"
! grep '^FPT-IBO FPT-NOTE .*managed by irqbalance' "$out" >/dev/null || lab_fail "--override still left IRQs alone"
lab_log "irqbalance stand-in: $left IRQs left alone, banned IRQ $banned planned; all 8 with override"

# 5. Undo and crashes: every IRQ and the table as found.
same() { # TAG WHAT
    [ "$(lines "$1" IRQ)" = "$(lines S0 IRQ)" ] || lab_fail "$2: IRQs not as found: $(diff <(lines S0 IRQ) <(lines "$1" IRQ) | tr '\n' ' ')"
    [ "$(lines "$1" X)" = "$(lines S0 X)" ] || lab_fail "$2: the RSS table not as found"
}
same S2 "replay after apply"
grep '^FPT-EXIT1 137$' "$out" >/dev/null || lab_fail "crash 1: the driver was not killed ($(grep '^FPT-EXIT1' "$out"))"
grep '^FPT-C1 FPT-KILLED after 3 writes$' "$out" >/dev/null || lab_fail "crash 1: not killed after its third write"
[ "$(lines S3 IRQ)" != "$(lines S0 IRQ)" ] || lab_fail "crash 1 changed nothing"
same S4 "replay after crash 1"
grep '^FPT-EXIT2 137$' "$out" >/dev/null || lab_fail "crash 2: the driver was not killed"
grep '^FPT-C2 FPT-ACT rss eth0$' "$out" >/dev/null || lab_fail "crash 2: the table was not written before the kill"
[ "$(lines S5 X)" != "$(lines S0 X)" ] || lab_fail "crash 2 left the table as found"
same S6 "replay after crash 2"
lab_log "replay restored every IRQ and the table: after undo, after a kill after 3 writes ($(sed -n 's/^FPT-R2 FPT-REPLAY //p' "$out")), after a kill after the table ($(sed -n 's/^FPT-R3 FPT-REPLAY //p' "$out"))"
echo "PASS: tuning-nic-guest"

# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# TCG guests on Debian 12's own kernels with footprintd inside, for
# tests/integration/sense-distro-kernels.sh and tests/perf/bench-sense.sh.
# Source after lab.sh and vmlab.sh, call lab_begin first.
#
# A guest is an initramfs: busybox, the agent and the tools it runs with
# their libraries, the kernel's conntrack modules (DISTRO_GUEST_MODS and
# their dependencies), a private bus, an nft rule that makes conntrack track
# the guest's own netns, and an /init: distro_guest_prologue (modules,
# bus, agent) followed by the caller's part, which prints what the host
# checks on lines tagged FPT-<WHAT> and ends with distro_guest_epilogue.

DISTRO_GUEST_MODS=(nf_conntrack nf_conntrack_netlink nf_tables nft_ct veth)

# The start of /init: mounts, modules, `footprintd --probe` (FPT-PROBE), a
# private bus, the nft rule, the agent (with the config's extra lines in
# /etc/footprintd.conf), and a wait until it answers.
distro_guest_prologue() {
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
INIT
}

# The end of /init: the agent's log (FPT-LOG), FPT-DONE, power off.
distro_guest_epilogue() {
    cat <<'INIT'
sed 's/^/FPT-LOG /' /tmp/agent.log
echo FPT-DONE
poweroff -f
INIT
}

# distro_guest_image KDIR INIT OUT: the initramfs for KDIR's kernel with
# INIT (a file) as /init.
distro_guest_image() {
    local kdir=$1 init=$2 out=$3 root b
    root=$(mktemp -d "$LAB_DIR/root.XXXXXX")
    mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc,mods,var}
    ln -s ../run "$root/var/run" # ip netns: /var/run/netns
    cp /bin/busybox "$root/bin/"
    for b in sh mount insmod poweroff sleep cat sed tr tail seq; do ln -s busybox "$root/bin/$b"; done
    # iproute2's ip, not busybox's: network namespaces.
    for b in "$FP_BUILDDIR/src/footprintd" "$FP_BUILDDIR/src/footprintctl" "$(command -v dbus-daemon)" \
        "$(command -v nft)" "$(command -v iperf3)" "$(command -v conntrack)" /usr/bin/ip \
        "$FP_BUILDDIR/tests/perf/fp-empty-hook"; do
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
    cp "$init" "$root/init"
    chmod 755 "$root/init"
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$out"
    rm -rf "$root"
}

# distro_guest_boot KDIR INIT NAME: boots KDIR's kernel on an image with
# INIT; the console goes to $LAB_DIR/NAME.console.  One CPU: with two, TCG
# let 6.12 crash at boot once in four (an int3 oops while the kernel
# patched its own code).
distro_guest_boot() {
    local kdir=$1 init=$2 name=$3
    distro_guest_image "$kdir" "$init" "$LAB_DIR/$name.img"
    lab_log "booting $name (${kdir##*/}) under TCG"
    timeout 300 qemu-system-x86_64 -accel tcg -m 1536 -smp 1 -nographic -no-reboot \
        -kernel "$kdir/vmlinuz" -initrd "$LAB_DIR/$name.img" \
        -append "console=ttyS0 quiet rdinit=/init panic=-1" >"$LAB_DIR/$name.console" 2>&1 || true
    grep -q FPT-DONE "$LAB_DIR/$name.console" ||
        lab_fail "$name: the guest did not finish: $(tail -n 30 "$LAB_DIR/$name.console")"
}

# distro_guest_kernel_612 / distro_guest_kernel_61: the cached kernel's
# directory (downloaded once).
distro_guest_kernel_612() {
    local k612
    k612=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9.]+\+deb12-cloud-amd64-unsigned$' |
        awk '{print $1}' | sort -V | tail -n 1)
    [ -n "$k612" ] || lab_fail "no linux-image-6.12.*-cloud-amd64-unsigned package (apt-get update?)"
    vmlab__fetch_kernel "$k612" "${DISTRO_GUEST_MODS[@]}" || lab_fail "cannot fetch $k612"
}
distro_guest_kernel_61() {
    vmlab__fetch_kernel "" "${DISTRO_GUEST_MODS[@]}" || lab_fail "cannot fetch linux-image-cloud-amd64"
}

# shellcheck shell=bash
# tests/lab/vmlab.sh - footprintd VM lab: a real libvirtd (no systemd needed)
# plus tiny qemu TCG guests on host-local tap devices whose traffic crosses
# the host's netfilter conntrack.
#
# Source it (do not execute it) from integration tests and demos:
#
#   . tests/lab/vmlab.sh
#   trap vmlab_cleanup EXIT
#   vmlab_install_packages
#   vmlab_check_host || exit $?            # 77 = missing kernel feature
#   vmlab_prepare_guest_image /tmp/footprintd-lab/image
#   vmlab_setup_conntrack
#   vmlab_start_libvirtd /tmp/footprintd-lab
#   vmlab_define_guest vm1 bulk 10.213.1.2 10.213.1.1 fpl-vm1
#   vmlab_start_iperf3_server 5301 10.213.1.1
#   ...
#
# Requirements: Debian 12 (or close), root, x86_64.  Guests run under TCG
# (<domain type='qemu'>), never KVM.  All lab addresses live on host-local
# tap devices; nothing is routed off the machine (the guests get no default
# route).  One lab per machine at a time: the state lives in $VMLAB_STATE.
#
# Every function returns non-zero with an "vmlab: ERROR" line on stderr on
# failure; none calls exit.  The functions work under `set -euo pipefail`
# and without it.  Progress goes to stderr, stdout is kept for values.
#
# Running it directly is a small CLI:  bash tests/lab/vmlab.sh cleanup
# tears down whatever a killed run left behind.
#
# Tunables (environment; defaults in brackets):
#   VMLAB_WORKDIR      [/tmp/footprintd-lab]  XML, console logs, daemon logs
#   VMLAB_CACHE        [/var/cache/footprintd-lab]  extracted guest kernels
#   VMLAB_STATE        [/run/footprintd-lab]  what the lab created (for cleanup)
#   VMLAB_IMAGE_DIR    [set by vmlab_prepare_guest_image]  vmlinuz + initrd.img
#   VMLAB_GUEST_MEM    [96]    guest RAM in MiB (>= 96: with 80 or less the
#                              Debian cloud kernel OOMs unpacking the initramfs)
#   VMLAB_GUEST_VCPUS  [QUEUES] guest vCPUs (virtio-net enables min(queues,
#                               vCPUs) queue pairs; unused tap queues show as
#                               "numdisabled" and are absent from sysfs)
#   VMLAB_BOOT_TIMEOUT [90]    seconds to wait for the guest's VMLAB-NET-UP
#   VMLAB_PORT         [bulk 5301, chatty 5302, server 5201]  TCP port of the mode
#   VMLAB_UDP_PORT     [chatty: VMLAB_PORT+1; 0 = no UDP]     DNS-style UDP port
#   VMLAB_DUR          [10]    bulk: seconds per iperf3 run
#   VMLAB_PARALLEL     [1]     bulk: iperf3 -P streams
#   VMLAB_BULK_BW      [0]     bulk: iperf3 -b target (e.g. 200M; 0 = unlimited).
#                              An unlimited TCG bulk guest eats a host core,
#                              which slows the other guests on small hosts
#   VMLAB_COUNT        [0]     bulk: runs, chatty: connections (0 = forever)
#   VMLAB_RATE         [40]    chatty: target TCP connections per second
#   VMLAB_INTERVAL     [0.05]  ping: seconds between two ICMP echo requests
#   VMLAB_TARGET       [HOSTIP] the peer of bulk, chatty and ping (e.g. an
#                              address beyond the host, with VMLAB_ROUTE)
#   VMLAB_ROUTE        []      a prefix (CIDR) the guest routes via HOSTIP,
#                              e.g. a netns "world" behind the host; the
#                              guests still get no default route
#   VMLAB_NIC_HOST     []      attributes of the NICs' <driver><host/>, e.g.
#                              "tso4='off' tso6='off'" (no TSO from the guest)

VMLAB_WORKDIR=${VMLAB_WORKDIR:-/tmp/footprintd-lab}
VMLAB_CACHE=${VMLAB_CACHE:-/var/cache/footprintd-lab}
VMLAB_STATE=${VMLAB_STATE:-/run/footprintd-lab}
VMLAB_IMAGE_DIR=${VMLAB_IMAGE_DIR:-}
VMLAB_NFT_TABLE=footprintd_lab
VMLAB_QEMU_CONF=${VMLAB_QEMU_CONF:-/etc/libvirt/qemu.conf}
VMLAB_PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
                qemu-system-x86 busybox-static nftables conntrack iperf3 iproute2)
# MAC prefix of lab NICs: 0e:fd:<guest IPv4 as 4 bytes>.  The guest's init
# configures every NIC carrying this prefix from its MAC, which is how a
# hot-plugged NIC learns its address without any agent in the guest.
VMLAB_MAC_PREFIX=0e:fd
export LIBVIRT_DEFAULT_URI=qemu:///system

# ---------------------------------------------------------------- helpers --

vmlab_log() { printf '[vmlab %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
vmlab__err() { printf '[vmlab %(%H:%M:%S)T] vmlab: ERROR: %s\n' -1 "$*" >&2; return 1; }

# vmlab_now_ms: wall clock in milliseconds (for timings).
vmlab_now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $(( t / 1000 )); }

# vmlab_wait_for TIMEOUT_S CMD [ARGS...]: run CMD every 50 ms until it
# succeeds (return 0) or TIMEOUT_S seconds pass (return 1).
vmlab_wait_for() {
    local t=$1; shift
    local now=${EPOCHREALTIME//[!0-9]/}
    local end=$(( now + t * 1000000 ))
    until "$@"; do
        now=${EPOCHREALTIME//[!0-9]/}
        (( now < end )) || return 1
        sleep 0.05
    done
}

# vmlab__alive PID: the process exists and is not a zombie.  (A PID 1 that
# reaps orphans late leaves killed daemons as zombies for ~1.6 s; kill -0
# alone would make every stop wait for that.)
vmlab__alive() {
    local s
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    [ "${s:0:1}" != Z ]
}
vmlab__dead() { ! vmlab__alive "$1"; }
vmlab__pidfile_alive() { local p; [ -s "$1" ] && p=$(<"$1") && vmlab__alive "$p"; }

# vmlab__state_add FILE VALUE / vmlab__state_del FILE VALUE / vmlab__state_list FILE
vmlab__state_add() {
    mkdir -p "$VMLAB_STATE" || return 1
    [ -f "$VMLAB_STATE/$1" ] && grep -qxF -- "$2" "$VMLAB_STATE/$1" && return 0
    printf '%s\n' "$2" >> "$VMLAB_STATE/$1"
}
vmlab__state_del() {
    local f="$VMLAB_STATE/$1"
    [ -f "$f" ] || return 0
    grep -vxF -- "$2" "$f" > "$f.tmp" || true
    mv -f "$f.tmp" "$f"
}
vmlab__state_list() { [ -f "$VMLAB_STATE/$1" ] && cat "$VMLAB_STATE/$1"; return 0; }

vmlab__virsh_ok() { timeout 10 virsh version >/dev/null 2>&1; }

vmlab__valid_ip() {
    local IFS=. a b c d
    [[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || return 1
    read -r a b c d <<<"$1"
    (( a <= 255 && b <= 255 && c <= 255 && d <= 255 ))
}

# vmlab_ip_to_mac IP: the lab MAC of a NIC whose guest address is IP.
vmlab_ip_to_mac() {
    local IFS=. a b c d
    read -r a b c d <<<"$1"
    printf '%s:%02x:%02x:%02x:%02x\n' "$VMLAB_MAC_PREFIX" "$a" "$b" "$c" "$d"
}

vmlab__subnet24() { echo "${1%.*}"; }

# Runs CMD detached (own session, stdin /dev/null, output to LOG) so that it
# neither holds the caller's pipes open nor becomes a job a bare `wait` in
# the caller would block on.  Prints the PID.
vmlab__spawn() {
    local log=$1; shift
    ( setsid "$@" </dev/null >>"$log" 2>&1 & echo $! )
}

vmlab__kill_wait() { # PID [TIMEOUT_S]: SIGTERM, then SIGKILL after the timeout
    local pid=$1 t=${2:-10}
    vmlab__alive "$pid" || return 0
    kill "$pid" 2>/dev/null || true
    if ! vmlab_wait_for "$t" vmlab__dead "$pid"; then
        kill -9 "$pid" 2>/dev/null || true
        vmlab_wait_for 5 vmlab__dead "$pid" || return 1
    fi
    return 0
}

# ---------------------------------------------------------------- packages --

# vmlab_install_packages: make sure the lab's Debian packages are installed.
# Idempotent and quiet; `apt-get update` runs only when the package lists are
# empty or an install attempt fails.  Output goes to $VMLAB_WORKDIR/apt.log.
vmlab_install_packages() {
    local p missing=() log
    local pkgs=("${VMLAB_PACKAGES[@]}")
    [ -x /usr/bin/python3 ] || pkgs+=(python3-minimal)   # host-side responder
    for p in "${pkgs[@]}"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    mkdir -p "$VMLAB_WORKDIR" || return 1
    log=$VMLAB_WORKDIR/apt.log
    vmlab_log "installing: ${missing[*]}"
    local apt=(apt-get -y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >>"$log" 2>&1 || true
    fi
    if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >>"$log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends "${missing[@]}" >>"$log" 2>&1 \
            || { tail -n 20 "$log" >&2; vmlab__err "apt-get install ${missing[*]} failed (log: $log)"; return 1; }
    fi
}

# ------------------------------------------------------------ host checks --

# vmlab_check_host: root, tun/tap and netfilter conntrack (via an nftables ct
# rule) must work.  Returns 77 (the automake "skip" code) with the reason on
# stderr when a needed kernel feature is missing, 1 on other problems.
vmlab_check_host() {
    [ "$(id -u)" = 0 ] || { vmlab_log "SKIP: the lab needs root"; return 77; }
    local t
    for t in virsh libvirtd virtlogd qemu-system-x86_64 nft conntrack iperf3 ip ss perl; do
        command -v "$t" >/dev/null || { vmlab__err "$t not found (run vmlab_install_packages)"; return 1; }
    done
    if [ ! -c /dev/net/tun ]; then
        { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; } 2>/dev/null || true
    fi
    if ! ip tuntap add dev fpl-probe0 mode tap >/dev/null 2>&1; then
        vmlab_log "SKIP: the kernel cannot create tap devices (tun missing: no /dev/net/tun or CONFIG_TUN)"
        return 77
    fi
    ip link del fpl-probe0 >/dev/null 2>&1 || true
    if ! nft -f - >/dev/null 2>&1 <<'EOF'
table inet footprintd_lab_probe {
    chain c { type filter hook output priority 0; policy accept; ct state established counter accept; }
}
delete table inet footprintd_lab_probe
EOF
    then
        vmlab_log "SKIP: nftables with a 'ct state' rule is not available (CONFIG_NF_TABLES / CONFIG_NF_CONNTRACK)"
        return 77
    fi
    if [ ! -e /proc/sys/net/netfilter/nf_conntrack_acct ]; then
        vmlab_log "SKIP: netfilter conntrack is not available (no /proc/sys/net/netfilter/nf_conntrack_acct)"
        return 77
    fi
    if ! conntrack -L >/dev/null 2>&1; then
        vmlab_log "SKIP: conntrack -L fails (no ctnetlink: CONFIG_NF_CT_NETLINK)"
        return 77
    fi
    return 0
}

# ------------------------------------------------------------ guest image --

# vmlab__resolve_kpkg: name of the kernel package linux-image-cloud-amd64
# depends on (e.g. linux-image-6.1.0-56-cloud-amd64); empty if unknown.
vmlab__resolve_kpkg() {
    apt-cache depends linux-image-cloud-amd64 2>/dev/null \
        | awk '/Depends: linux-image-/ && !found { print $2; found = 1 }'
}

# vmlab__module_order KMODDIR ROOT...: print module names, dependencies first,
# resolved from the .modinfo "depends=" strings (no kmod tools needed).
# Needs the associative array vmlab__mod_path (name -> file) filled.
vmlab__module_order() {
    local m d deps
    for m in "$@"; do
        [ -n "${vmlab__mod_seen[$m]:-}" ] && continue
        vmlab__mod_seen[$m]=1
        [ -n "${vmlab__mod_path[$m]:-}" ] || continue     # built in (or absent)
        deps=$(vmlab__cat_module "${vmlab__mod_path[$m]}" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
        for d in $deps; do vmlab__module_order "$d"; done
        echo "$m"
    done
}
vmlab__cat_module() {
    case $1 in
        *.ko) cat "$1" ;;
        *.ko.xz) xz -dc "$1" ;;
        *.ko.zst) zstd -dcq "$1" ;;
        *.ko.gz) gzip -dc "$1" ;;
        *) return 1 ;;
    esac
}

# vmlab__fetch_kernel [KPKG [MODULE...]]: make sure a cached copy of the
# Debian kernel package KPKG (default: the one linux-image-cloud-amd64
# depends on) exists, with its vmlinuz and the MODULEs (default: virtio_pci
# virtio_net) and their dependencies in mods/ (loading order in mods/order);
# print its directory.  Downloads the .deb (apt-get download, not
# installed) only when the cache lacks it.
vmlab__fetch_kernel() {
    local kpkg=${1:-} kdir tmp f name
    local -a mods=("${@:2}")
    [ ${#mods[@]} -gt 0 ] || mods=(virtio_pci virtio_net)
    if [ -z "$kpkg" ]; then
        kpkg=$(vmlab__resolve_kpkg)
        if [ -z "$kpkg" ]; then
            DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null 2>&1 || true
            kpkg=$(vmlab__resolve_kpkg)
        fi
        if [ -z "$kpkg" ]; then   # offline: fall back to any cached kernel
            kdir=$(find "$VMLAB_CACHE" -mindepth 2 -maxdepth 2 -name .complete -printf '%h\n' 2>/dev/null | grep -v '+' | sort | tail -n 1)
            [ -n "$kdir" ] || { vmlab__err "cannot resolve linux-image-cloud-amd64 and no cached kernel in $VMLAB_CACHE"; return 1; }
            echo "$kdir"; return 0
        fi
    fi
    kdir=$VMLAB_CACHE/$kpkg
    [ "${mods[*]}" = "virtio_pci virtio_net" ] || kdir+=$(printf '+%s' "${mods[@]}")
    if [ -f "$kdir/.complete" ]; then echo "$kdir"; return 0; fi
    vmlab_log "downloading guest kernel $kpkg into $VMLAB_CACHE"
    mkdir -p "$VMLAB_CACHE" || return 1
    tmp=$(mktemp -d "$VMLAB_CACHE/.dl.XXXXXX") || return 1
    # "Download is performed unsandboxed as root" is a harmless warning.
    if ! (cd "$tmp" && apt-get download -q "$kpkg" >/dev/null 2>"$tmp/apt.err"); then
        cat "$tmp/apt.err" >&2; rm -rf "$tmp"
        vmlab__err "apt-get download $kpkg failed"; return 1
    fi
    dpkg-deb -x "$tmp/$kpkg"_*.deb "$tmp/x" || { rm -rf "$tmp"; vmlab__err "dpkg-deb -x failed"; return 1; }
    mkdir -p "$tmp/out/mods"
    f=$(find "$tmp/x/boot" -name 'vmlinuz-*' | head -n 1)
    [ -n "$f" ] || { rm -rf "$tmp"; vmlab__err "no vmlinuz in $kpkg"; return 1; }
    cp "$f" "$tmp/out/vmlinuz"
    local -A vmlab__mod_path=() vmlab__mod_seen=()
    while IFS= read -r f; do
        name=${f##*/}; name=${name%%.ko*}; name=${name//-/_}
        vmlab__mod_path[$name]=$f
    done < <(find "$tmp/x/lib/modules" "$tmp/x/usr/lib/modules" -name '*.ko*' 2>/dev/null)
    : > "$tmp/out/mods/order"
    for name in $(vmlab__module_order "${mods[@]}"); do
        vmlab__cat_module "${vmlab__mod_path[$name]}" > "$tmp/out/mods/$name.ko" || { rm -rf "$tmp"; vmlab__err "cannot unpack module $name"; return 1; }
        echo "$name" >> "$tmp/out/mods/order"
    done
    rm -rf "$kdir"
    mv "$tmp/out" "$kdir" && touch "$kdir/.complete"
    rm -rf "$tmp"
    echo "$kdir"
}

# The guest's /init (busybox sh).  Kernel command line parameters:
#   vmlab.mode=bulk|chatty|server|ping|idle  vmlab.host=HOSTIP  vmlab.port=N
#   vmlab.uport=N  vmlab.dur=S  vmlab.par=N  vmlab.bw=B  vmlab.count=N  vmlab.rate=N
#   vmlab.target=IP  vmlab.route=CIDR  vmlab.interval=S
# Console markers (one line each, prefixed "VMLAB t=<uptime>"):
#   VMLAB-NET-UP ...   eth0 configured and the host answers ping
#   VMLAB-NET-FAIL ... eth0 missing or the host does not answer
#   VMLAB-NIC-UP <if> ip=<a.b.c.d>   any NIC configured (incl. hot-plugged)
vmlab__guest_init() {
    cat <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox --install -s /bin
export PATH=/bin
exec </dev/console >/dev/console 2>&1
log() { echo "VMLAB t=$(cut -d' ' -f1 /proc/uptime) $*"; }
log init-start
for m in $(cat /mods/order); do insmod "/mods/$m.ko" || log "insmod $m failed"; done
MODE=idle HOST= PORT=5301 UPORT=0 DUR=10 PAR=1 BW=0 COUNT=0 RATE=40 TARGET= ROUTE= INTERVAL=0.05
for a in $(cat /proc/cmdline); do
    case "$a" in
        vmlab.mode=*) MODE=${a#*=} ;;   vmlab.host=*) HOST=${a#*=} ;;
        vmlab.port=*) PORT=${a#*=} ;;   vmlab.uport=*) UPORT=${a#*=} ;;
        vmlab.dur=*) DUR=${a#*=} ;;     vmlab.par=*) PAR=${a#*=} ;;
        vmlab.count=*) COUNT=${a#*=} ;; vmlab.rate=*) RATE=${a#*=} ;;
        vmlab.bw=*) BW=${a#*=} ;;       vmlab.target=*) TARGET=${a#*=} ;;
        vmlab.route=*) ROUTE=${a#*=} ;; vmlab.interval=*) INTERVAL=${a#*=} ;;
    esac
done
[ -n "$TARGET" ] || TARGET=$HOST
ip link set lo up
# A lab NIC's MAC is 0e:fd:<IPv4 bytes>: configure every such NIC once.
cfg_nics() {
    for d in /sys/class/net/eth*; do
        [ -e "$d/address" ] || continue
        n=${d##*/}
        [ -e "/tmp/cfg.$n" ] && continue
        IFS=: read -r m1 m2 b1 b2 b3 b4 < "$d/address"
        [ "$m1:$m2" = 0e:fd ] || continue
        ip=$((0x$b1)).$((0x$b2)).$((0x$b3)).$((0x$b4))
        ip addr add "$ip/24" dev "$n" && ip link set "$n" up && : > "/tmp/cfg.$n" && log "VMLAB-NIC-UP $n ip=$ip"
    done
}
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
cfg_nics
ok=0; i=0
while [ -e /tmp/cfg.eth0 ] && [ $i -lt 30 ]; do
    ping -c 1 -W 1 "$HOST" >/dev/null 2>&1 && { ok=1; break; }
    i=$((i+1))
done
if [ $ok = 1 ] && [ -n "$ROUTE" ] && ! ip route add "$ROUTE" via "$HOST"; then
    log "VMLAB-NET-FAIL route $ROUTE via $HOST"; ok=2
fi
if [ $ok = 1 ]; then
    log "VMLAB-NET-UP mode=$MODE host=$HOST port=$PORT queues=$(ls /sys/class/net/eth0/queues | tr '\n' ' ')"
elif [ $ok = 0 ]; then
    log "VMLAB-NET-FAIL mode=$MODE host=$HOST nics=$(ls /sys/class/net | tr '\n' ' ')"
fi
# Hot-plugged NICs: configure them as they appear.
( while :; do sleep 1; cfg_nics; done ) &
case "$MODE" in
bulk)   # guest -> host bulk TCP; the host runs "iperf3 -s -p PORT"
    runs=0 fails=0
    while [ "$COUNT" = 0 ] || [ $runs -lt "$COUNT" ]; do
        if iperf3 -c "$TARGET" -p "$PORT" -t "$DUR" -P "$PAR" -b "$BW" -f m > /tmp/ip.out 2>&1; then
            runs=$((runs+1)) fails=0; log "bulk run $runs: $(grep receiver /tmp/ip.out | tail -n 1)"
        else
            # each failed try is a short (SYN/RST) conntrack entry: back off
            fails=$((fails+1)); [ $((fails % 50)) = 1 ] && log "bulk: iperf3 -c failed ($fails): $(tail -n 1 /tmp/ip.out)"
            if [ $fails -le 20 ]; then sleep 0.3; else sleep 1; fi
        fi
    done
    log "VMLAB-MODE-DONE bulk runs=$runs" ;;
chatty) # many short TCP connections (+ a DNS-style UDP query every 5th),
        # paced to RATE per second (as far as the CPU allows)
    echo hello > /tmp/req
    cs() { read -r up _ < /proc/uptime; CS=$(( ${up%.*} * 100 + 1${up#*.} - 100 )); }   # no fork
    cs; start=$CS; i=0
    while [ "$COUNT" = 0 ] || [ $i -lt "$COUNT" ]; do
        i=$((i+1))
        nc -w 2 "$TARGET" "$PORT" < /tmp/req >/dev/null 2>&1
        if [ "$UPORT" != 0 ] && [ $((i % 5)) = 0 ]; then
            nslookup -type=a "q$i.lab" "$TARGET:$UPORT" >/dev/null 2>&1 &
        fi
        [ $((i % 1000)) = 0 ] && log "chatty: $i connections"
        cs; now=$CS; ahead=$(( start + i * 100 / RATE - now ))
        if [ $ahead -gt 0 ]; then usleep $((ahead * 10000))
        elif [ $ahead -lt -100 ]; then start=$(( now - i * 100 / RATE )); fi
    done
    log "VMLAB-MODE-DONE chatty connections=$i" ;;
server) # the host runs "iperf3 -c GUESTIP -p PORT"
    log "server: iperf3 -s -p $PORT"
    while :; do iperf3 -s -p "$PORT" >/dev/null 2>&1; sleep 0.2; done ;;
ping)   # an ICMP echo request to TARGET every INTERVAL s; busybox ping prints
        # one "seq=N ttl=T time=X ms" line per reply to the console
    log "ping: $TARGET every $INTERVAL s"
    while :; do ping -i "$INTERVAL" "$TARGET"; sleep 1; done ;;
idle) ;;
*) log "unknown mode $MODE (idling)" ;;
esac
while :; do sleep 3600; done
EOF
}

# vmlab_prepare_guest_image DIR: write DIR/vmlinuz and DIR/initrd.img and set
# VMLAB_IMAGE_DIR=DIR.  The kernel is the Debian cloud kernel (the package
# linux-image-cloud-amd64 depends on), fetched with apt-get download and
# extracted with dpkg-deb -x into $VMLAB_CACHE once; later calls only rebuild
# the (small) initramfs: static busybox, virtio_net + deps, iperf3 + libs and
# the lab /init.  Needs the lab packages (vmlab_install_packages).
# vmlab_copy_binary ROOT BINARY: BINARY into ROOT/bin, the libraries it
# loads at their own paths under ROOT.
vmlab_copy_binary() {
    local l
    cp "$2" "$1/bin/" || return 1
    for l in $(ldd "$2" | grep -oE '/[^ ]+'); do
        mkdir -p "$1${l%/*}" && cp -L "$l" "$1$l" || return 1
    done
}

vmlab_prepare_guest_image() {
    local dir=${1:?usage: vmlab_prepare_guest_image DIR} kdir root l
    mkdir -p "$dir" || return 1
    kdir=$(vmlab__fetch_kernel) || return 1
    [ -x /bin/busybox ] || { vmlab__err "/bin/busybox missing (busybox-static)"; return 1; }
    case "$(LC_ALL=C ldd /bin/busybox 2>&1)" in
        *"not a dynamic"*|*"statically linked"*) ;;
        *) vmlab__err "/bin/busybox is not static (install busybox-static)"; return 1 ;;
    esac
    command -v iperf3 >/dev/null || { vmlab__err "iperf3 missing"; return 1; }
    root=$(mktemp -d "$dir/.initramfs.XXXXXX") || return 1
    mkdir -p "$root"/{bin,dev,proc,sys,tmp,mods} || return 1
    mknod "$root/dev/console" c 5 1 2>/dev/null || true
    cp /bin/busybox "$root/bin/busybox" || return 1
    cp "$kdir"/mods/*.ko "$kdir/mods/order" "$root/mods/" || return 1
    vmlab_copy_binary "$root" "$(command -v iperf3)" || return 1
    vmlab__guest_init > "$root/init" && chmod 755 "$root/init" || return 1
    (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$dir/initrd.img.tmp" || { rm -rf "$root"; return 1; }
    rm -rf "$root"
    mv -f "$dir/initrd.img.tmp" "$dir/initrd.img" && cp -f "$kdir/vmlinuz" "$dir/vmlinuz" || return 1
    VMLAB_IMAGE_DIR=$(cd "$dir" && pwd)
    vmlab_log "guest image ready in $VMLAB_IMAGE_DIR (kernel ${kdir##*/}, initrd $(stat -c %s "$dir/initrd.img") bytes)"
}

# ----------------------------------------------------------------- daemons --

vmlab__write_reaper() {
    # PID 1 on some container/VM sandboxes reaps orphans late; libvirt then
    # waits ~2 s for every qemu it forks or kills.  Run libvirtd under a
    # child subreaper that reaps at once (perl-base is always installed).
    cat > "$1" <<'EOF'
use strict; use warnings;
syscall(157, 36, 1, 0, 0, 0) == 0 or die "prctl(PR_SET_CHILD_SUBREAPER): $!";  # SYS_prctl=157 on x86_64
my $pid = fork() // die "fork: $!";
if ($pid == 0) { exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!"; }
1 while wait() != -1;
EOF
}

vmlab__qemu_conf_apply() {
    local conf=$VMLAB_QEMU_CONF bak=$VMLAB_QEMU_CONF.footprintd-lab-orig none=$VMLAB_QEMU_CONF.footprintd-lab-none
    mkdir -p "${conf%/*}" || return 1
    # Save the original only once: a backup left by a killed run is the original.
    if [ ! -e "$bak" ] && [ ! -e "$none" ]; then
        if [ -f "$conf" ]; then cp -p "$conf" "$bak" || return 1; else : > "$none" || return 1; fi
    fi
    {
        [ -f "$bak" ] && grep -vE '^[[:space:]]*(user|group|security_driver)[[:space:]]*=' "$bak"
        echo '# footprintd lab (tests/lab/vmlab.sh): the original is restored by vmlab_stop_libvirtd'
        echo 'user = "root"'
        echo 'group = "root"'
        echo 'security_driver = "none"'
    } > "$conf.tmp" && mv -f "$conf.tmp" "$conf"
}

vmlab__qemu_conf_restore() {
    local conf=$VMLAB_QEMU_CONF bak=$VMLAB_QEMU_CONF.footprintd-lab-orig none=$VMLAB_QEMU_CONF.footprintd-lab-none
    if [ -e "$bak" ]; then mv -f "$bak" "$conf"
    elif [ -e "$none" ]; then rm -f "$conf" "$none"
    fi
}

vmlab__launch_libvirtd() {
    local w=$VMLAB_WORKDIR pid t0
    t0=$(vmlab_now_ms)
    if ! pidof virtlogd >/dev/null 2>&1; then
        rm -f /run/libvirt/virtlogd-sock /run/libvirt/virtlogd-admin-sock
        virtlogd -d -p "$VMLAB_STATE/virtlogd.pid" || { vmlab__err "virtlogd failed to start"; return 1; }
        vmlab_wait_for 10 test -S /run/libvirt/virtlogd-sock || { vmlab__err "virtlogd socket did not appear"; return 1; }
    fi
    vmlab__write_reaper "$w/reaper.pl" || return 1
    pid=$(LIBVIRT_LOG_OUTPUTS="3:file:$w/libvirtd.log" vmlab__spawn "$w/reaper.log" perl "$w/reaper.pl" libvirtd -d -p "$VMLAB_STATE/libvirtd.pid")
    vmlab__state_add reapers "$pid"
    if ! vmlab_wait_for 60 vmlab__virsh_ok; then
        tail -n 20 "$w/libvirtd.log" "$w/reaper.log" >&2 2>/dev/null || true
        vmlab__err "libvirtd did not answer 'virsh version' within 60 s (logs: $w/libvirtd.log)"
        return 1
    fi
    vmlab_log "libvirtd ready in $(( $(vmlab_now_ms) - t0 )) ms (pid $(cat "$VMLAB_STATE/libvirtd.pid" 2>/dev/null))"
}

# vmlab_start_libvirtd [WORKDIR]: virtlogd + libvirtd running without systemd,
# `virsh version` answering on qemu:///system.  Creates the libvirt-qemu user
# and the directories libvirtd needs, sets user/group = "root" and
# security_driver = "none" in qemu.conf (the original is saved and put back by
# vmlab_stop_libvirtd/vmlab_cleanup).  If a libvirtd not started by the lab is
# already answering, it is used as is (and never stopped by the lab).
vmlab_start_libvirtd() {
    VMLAB_WORKDIR=${1:-$VMLAB_WORKDIR}
    mkdir -p "$VMLAB_WORKDIR" "$VMLAB_STATE" || return 1
    VMLAB_WORKDIR=$(cd "$VMLAB_WORKDIR" && pwd)
    echo "$VMLAB_WORKDIR" > "$VMLAB_STATE/workdir"
    local t
    for t in libvirtd virtlogd virsh; do
        command -v "$t" >/dev/null || { vmlab__err "$t not found (run vmlab_install_packages)"; return 1; }
    done
    if vmlab__pidfile_alive "$VMLAB_STATE/libvirtd.pid" && vmlab__virsh_ok; then
        vmlab_log "lab libvirtd already running (pid $(cat "$VMLAB_STATE/libvirtd.pid"))"; return 0
    fi
    if vmlab__virsh_ok; then
        vmlab_log "WARNING: using a libvirtd the lab did not start (qemu.conf not adjusted; it will not be stopped)"
        return 0
    fi
    # libvirt resolves its built-in default qemu user before reading qemu.conf.
    getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu || return 1
    getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu || return 1
    mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /run/libvirt /etc/libvirt/qemu || return 1
    # qemu as root: with libvirt-qemu, /dev/kvm (0600) is unreadable, libvirt
    # keeps re-probing capabilities and the first start takes ~25 s.
    vmlab__qemu_conf_apply || { vmlab__err "cannot write $VMLAB_QEMU_CONF"; return 1; }
    vmlab__launch_libvirtd
}

# vmlab_kill_libvirtd: SIGKILL the lab's libvirtd (guests keep running, as in
# a crash).  Returns when the process is gone.
vmlab_kill_libvirtd() {
    local pid
    vmlab__pidfile_alive "$VMLAB_STATE/libvirtd.pid" || { vmlab__err "no lab libvirtd running"; return 1; }
    pid=$(<"$VMLAB_STATE/libvirtd.pid")
    kill -9 "$pid" || return 1
    vmlab_wait_for 10 vmlab__dead "$pid" || { vmlab__err "libvirtd $pid survived SIGKILL"; return 1; }
    vmlab_log "libvirtd $pid killed"
}

# vmlab_restart_libvirtd: stop the lab's libvirtd (SIGTERM) if it runs, start
# it again; returns when `virsh version` answers.  Guests keep running and
# are reconnected by libvirtd.
vmlab_restart_libvirtd() {
    local pid
    [ -e "$VMLAB_QEMU_CONF.footprintd-lab-orig" ] || [ -e "$VMLAB_QEMU_CONF.footprintd-lab-none" ] \
        || { vmlab__err "libvirtd was not started by vmlab_start_libvirtd"; return 1; }
    if vmlab__pidfile_alive "$VMLAB_STATE/libvirtd.pid"; then
        pid=$(<"$VMLAB_STATE/libvirtd.pid")
        vmlab__kill_wait "$pid" 15 || { vmlab__err "libvirtd $pid does not stop"; return 1; }
    fi
    vmlab__launch_libvirtd
}

# vmlab_stop_libvirtd: stop the lab's libvirtd and virtlogd (SIGTERM, then
# SIGKILL) and restore qemu.conf.  Running guests are not touched (use
# vmlab_destroy_guest or vmlab_cleanup).  A no-op for daemons the lab did
# not start.
vmlab_stop_libvirtd() {
    local p pid
    for p in libvirtd virtlogd; do
        if vmlab__pidfile_alive "$VMLAB_STATE/$p.pid"; then
            pid=$(<"$VMLAB_STATE/$p.pid")
            vmlab__kill_wait "$pid" 15 || vmlab_log "WARNING: $p $pid did not stop"
        fi
        rm -f "$VMLAB_STATE/$p.pid"
    done
    # A reaper exits once its last child (libvirtd, qemus) is gone.
    for pid in $(vmlab__state_list reapers); do
        vmlab_wait_for 5 vmlab__dead "$pid" && vmlab__state_del reapers "$pid"
    done
    vmlab__qemu_conf_restore
    return 0
}

# ------------------------------------------------------------------ guests --

vmlab__default_port() {
    case $1 in bulk) echo 5301 ;; chatty) echo 5302 ;; server) echo 5201 ;; *) echo 0 ;; esac
}

vmlab__nic_xml() { # MAC TAP HOSTIP QUEUES
    local q="" drv
    [ "${4:-1}" -gt 1 ] && q=" queues='$4'"
    drv="<driver name='qemu'$q/>"
    [ -n "${VMLAB_NIC_HOST:-}" ] && drv="<driver name='qemu'$q><host $VMLAB_NIC_HOST/></driver>"
    cat <<EOF
<interface type='ethernet'>
  <mac address='$1'/>
  <target dev='$2'/>
  <source><ip address='$3' prefix='24'/></source>
  <model type='virtio'/>
  $drv
</interface>
EOF
}

vmlab__check_nic_args() { # TAP IP HOSTIP
    if [ ${#1} -gt 15 ] || ! [[ $1 =~ ^[A-Za-z0-9_.-]+$ ]]; then vmlab__err "bad tap name '$1' (max 15 chars)"; return 1; fi
    case $1 in vnet*|macvtap*|macvlan*) vmlab__err "tap name '$1' is reserved by libvirt (it renames such taps)"; return 1 ;; esac
    vmlab__valid_ip "$2" || { vmlab__err "bad IP '$2'"; return 1; }
    vmlab__valid_ip "$3" || { vmlab__err "bad host IP '$3'"; return 1; }
    if [ "$(vmlab__subnet24 "$2")" != "$(vmlab__subnet24 "$3")" ] || [ "$2" = "$3" ]; then
        vmlab__err "$2 and $3 must be two addresses of one /24"; return 1
    fi
    [ ! -e "/sys/class/net/$1" ] || { vmlab__err "network device $1 already exists"; return 1; }
    local r
    r=$(ip -4 route show "$(vmlab__subnet24 "$2").0/24" 2>/dev/null)
    [ -z "$r" ] || { vmlab__err "subnet $(vmlab__subnet24 "$2").0/24 is already in use: $r"; return 1; }
}

vmlab__fail_guest() { # NAME MESSAGE
    local con=$VMLAB_WORKDIR/$1.console.log
    {
        echo "---- tail of $con:"; tail -n 30 "$con" 2>/dev/null
        echo "---- tail of /var/log/libvirt/qemu/$1.log:"; tail -n 10 "/var/log/libvirt/qemu/$1.log" 2>/dev/null
        echo "----"
    } >&2
    vmlab__err "$1: $2"
}

# vmlab_define_guest NAME MODE[:PORT] IP HOSTIP [TAPNAME] [QUEUES]
# Defines (persistently) and starts a TCG guest with one virtio NIC on the
# host tap TAPNAME (default fpl-NAME, cut to 15 chars; never vnet*), guest
# address IP/24, host-side address HOSTIP/24 put on the tap by libvirt.
# QUEUES > 1 gives a multi-queue tap (and, by default, as many vCPUs).  MODE: bulk (iperf3 -c HOSTIP -p PORT,
# repeated), chatty (many short TCP connections to HOSTIP:PORT, plus UDP
# queries to HOSTIP:VMLAB_UDP_PORT), server (iperf3 -s -p PORT), ping (an
# ICMP echo to HOSTIP every VMLAB_INTERVAL s, each reply's line on the
# console), idle.  VMLAB_TARGET replaces HOSTIP as the peer of bulk, chatty
# and ping; VMLAB_ROUTE is routed via HOSTIP (configured before VMLAB-NET-UP).
# Returns once the guest printed VMLAB-NET-UP (its NIC works and the host
# answers its ping); on failure or after VMLAB_BOOT_TIMEOUT the console tail
# is printed and 1 returned.  The console log is $VMLAB_WORKDIR/NAME.console.log.
vmlab_define_guest() {
    local name=${1:?usage: vmlab_define_guest NAME MODE IP HOSTIP [TAPNAME] [QUEUES]}
    local mode=${2:?mode} ip=${3:?ip} hostip=${4:?hostip} tap=${5:-} queues=${6:-1}
    local port uport w=$VMLAB_WORKDIR mac xml con t0 st
    if [[ $mode == *:* ]]; then port=${mode#*:}; mode=${mode%%:*}; else port=${VMLAB_PORT:-$(vmlab__default_port "$mode")}; fi
    case $mode in bulk|chatty|server|ping|idle) ;; *) vmlab__err "unknown mode '$mode'"; return 1 ;; esac
    uport=0; [ "$mode" = chatty ] && uport=${VMLAB_UDP_PORT:-$((port + 1))}
    [ -n "$tap" ] || tap=fpl-$name
    tap=${tap:0:15}
    if ! [[ $queues =~ ^[1-9][0-9]*$ ]]; then vmlab__err "bad QUEUES '$queues'"; return 1; fi
    if [ -z "$VMLAB_IMAGE_DIR" ] || [ ! -f "$VMLAB_IMAGE_DIR/vmlinuz" ] || [ ! -f "$VMLAB_IMAGE_DIR/initrd.img" ]; then
        vmlab__err "no guest image: call vmlab_prepare_guest_image first"; return 1
    fi
    vmlab__virsh_ok || { vmlab__err "libvirtd is not running: call vmlab_start_libvirtd first"; return 1; }
    # A leftover lab domain of the same name (killed run) is replaced.
    if virsh dominfo "$name" >/dev/null 2>&1; then
        if vmlab__state_list doms | grep -qxF -- "$name"; then
            vmlab_destroy_guest "$name" || return 1
        else
            vmlab__err "a domain named $name exists and is not a lab domain"; return 1
        fi
    fi
    vmlab__check_nic_args "$tap" "$ip" "$hostip" || return 1
    mac=$(vmlab_ip_to_mac "$ip")
    xml=$w/$name.xml con=$w/$name.console.log
    cat > "$xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>${VMLAB_GUEST_MEM:-96}</memory>
  <vcpu>${VMLAB_GUEST_VCPUS:-$queues}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$VMLAB_IMAGE_DIR/vmlinuz</kernel>
    <initrd>$VMLAB_IMAGE_DIR/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 ipv6.disable=1 vmlab.mode=$mode vmlab.host=$hostip vmlab.port=$port vmlab.uport=$uport vmlab.dur=${VMLAB_DUR:-10} vmlab.par=${VMLAB_PARALLEL:-1} vmlab.bw=${VMLAB_BULK_BW:-0} vmlab.count=${VMLAB_COUNT:-0} vmlab.rate=${VMLAB_RATE:-40}${VMLAB_TARGET:+ vmlab.target=$VMLAB_TARGET}${VMLAB_ROUTE:+ vmlab.route=$VMLAB_ROUTE} vmlab.interval=${VMLAB_INTERVAL:-0.05}</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
$(vmlab__nic_xml "$mac" "$tap" "$hostip" "$queues" | sed 's/^/    /')
    <serial type='file'><source path='$con'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
    rm -f "$con"
    vmlab__state_add doms "$name"
    vmlab__state_add taps "$tap"
    vmlab__state_add ips "$ip"
    vmlab__state_add ips "$hostip"
    virsh define "$xml" >/dev/null || { vmlab__err "virsh define $xml failed"; return 1; }
    t0=$(vmlab_now_ms)
    virsh start "$name" >/dev/null || { vmlab__fail_guest "$name" "virsh start failed"; return 1; }
    local end=$(( t0 + ${VMLAB_BOOT_TIMEOUT:-90} * 1000 )) n=0
    while :; do
        if [ -f "$con" ]; then
            if grep -aq 'VMLAB-NET-UP' "$con"; then break; fi
            if grep -aq 'VMLAB-NET-FAIL' "$con"; then vmlab__fail_guest "$name" "guest network did not come up"; return 1; fi
        fi
        if (( ++n % 20 == 0 )); then
            st=$(virsh domstate "$name" 2>/dev/null || true)
            [ "$st" = running ] || { vmlab__fail_guest "$name" "domain is '$st' before VMLAB-NET-UP"; return 1; }
        fi
        (( $(vmlab_now_ms) < end )) || { vmlab__fail_guest "$name" "no VMLAB-NET-UP on the console within ${VMLAB_BOOT_TIMEOUT:-90} s"; return 1; }
        sleep 0.05
    done
    vmlab_log "guest $name up in $(( $(vmlab_now_ms) - t0 )) ms: mode=$mode port=$port ip=$ip host=$hostip tap=$tap queues=$queues"
}

# vmlab_destroy_guest NAME: stop (virsh destroy) and undefine the domain;
# returns when its taps are gone.  Conntrack entries are left alone.
# Works when libvirtd is down (kills the qemu process, drops the config).
vmlab_destroy_guest() {
    local name=${1:?usage: vmlab_destroy_guest NAME} taps t pid
    taps=$(virsh domiflist "$name" 2>/dev/null | awk 'NR > 2 && $1 != "" && $1 != "-" { print $1 }')
    if vmlab__virsh_ok; then
        virsh destroy "$name" >/dev/null 2>&1 || true
        virsh undefine "$name" >/dev/null 2>&1 || true
        if virsh dominfo "$name" >/dev/null 2>&1; then vmlab__err "domain $name still exists"; return 1; fi
    else
        pid=$(cat "/run/libvirt/qemu/$name.pid" 2>/dev/null || true)
        [ -n "$pid" ] && { vmlab__kill_wait "$pid" 5 || true; }
        rm -f "/etc/libvirt/qemu/$name.xml" "/etc/libvirt/qemu/autostart/$name.xml"
    fi
    for t in $taps; do
        vmlab_wait_for 10 eval "[ ! -e /sys/class/net/$t ]" || vmlab_log "WARNING: tap $t of $name still exists"
    done
    vmlab__state_del doms "$name"
    return 0
}

# vmlab_hotplug_nic NAME TAPNAME IP [HOSTIP]: virsh attach-device --live of
# a virtio ethernet NIC on tap TAPNAME; guest address IP/24, host side
# HOSTIP/24 (default: IP's .1).  Returns once the tap exists on the host and
# the guest answers ping on IP through it (its init configures the NIC).
vmlab_hotplug_nic() {
    local name=${1:?usage: vmlab_hotplug_nic NAME TAPNAME IP [HOSTIP]} tap=${2:?tap} ip=${3:?ip}
    local hostip=${4:-} f t0
    [ -n "$hostip" ] || hostip=$(vmlab__subnet24 "$ip").1
    vmlab__check_nic_args "$tap" "$ip" "$hostip" || return 1
    f=$VMLAB_WORKDIR/$name.nic-$tap.xml
    vmlab__nic_xml "$(vmlab_ip_to_mac "$ip")" "$tap" "$hostip" 1 > "$f" || return 1
    vmlab__state_add taps "$tap"; vmlab__state_add ips "$ip"; vmlab__state_add ips "$hostip"
    t0=$(vmlab_now_ms)
    virsh attach-device "$name" "$f" --live >/dev/null || { vmlab__err "attach-device $f to $name failed"; return 1; }
    vmlab_wait_for 10 test -e "/sys/class/net/$tap" || { vmlab__err "tap $tap did not appear"; return 1; }
    vmlab_wait_for 30 vmlab_ping "$ip" "$tap" \
        || { vmlab__fail_guest "$name" "hot-plugged NIC $tap: guest $ip does not answer ping"; return 1; }
    vmlab_log "hot-plugged $tap into $name ($ip, host $hostip) in $(( $(vmlab_now_ms) - t0 )) ms"
}

# vmlab_unplug_nic NAME TAPNAME: virsh detach-device --live of a NIC added by
# vmlab_hotplug_nic; returns once the tap is gone (the guest acks the ACPI
# unplug).
vmlab_unplug_nic() {
    local name=${1:?usage: vmlab_unplug_nic NAME TAPNAME} tap=${2:?tap} f
    f=$VMLAB_WORKDIR/$name.nic-$tap.xml
    [ -f "$f" ] || { vmlab__err "no NIC $tap was hot-plugged into $name"; return 1; }
    virsh detach-device "$name" "$f" --live >/dev/null || { vmlab__err "detach-device $tap from $name failed"; return 1; }
    vmlab_wait_for 30 eval "[ ! -e /sys/class/net/$tap ]" || { vmlab__err "tap $tap still there 30 s after detach"; return 1; }
    vmlab_log "unplugged $tap from $name"
}

# vmlab_ping IP [DEV]: one ICMP echo from the host (busybox ping: iputils-ping
# is not among the lab packages), 1 s timeout.
vmlab_ping() {
    local args=(-c 1 -W 1)
    [ -n "${2:-}" ] && args+=(-I "$2")
    busybox ping "${args[@]}" "$1" >/dev/null 2>&1
}

# vmlab_guest_taps NAME: print the host tap names of a running guest.
vmlab_guest_taps() {
    virsh domiflist "$1" 2>/dev/null | awk 'NR > 2 && $1 != "" && $1 != "-" { print $1 }'
}

# vmlab_qemu_pid NAME: print the guest's qemu PID.
vmlab_qemu_pid() { cat "/run/libvirt/qemu/$1.pid"; }

# -------------------------------------------------------------- host side --

# vmlab_start_iperf3_server PORT [BINDIP]: `iperf3 -s` on the host (BINDIP
# must already exist, e.g. a guest's HOSTIP after vmlab_define_guest).
# Returns once the port listens; stopped by vmlab_stop_host_servers/cleanup.
vmlab_start_iperf3_server() {
    local port=${1:?usage: vmlab_start_iperf3_server PORT [BINDIP]} bind=${2:-} pid
    local args=(iperf3 -s -p "$port")
    [ -n "$bind" ] && args+=(-B "$bind")
    mkdir -p "$VMLAB_WORKDIR" || return 1
    pid=$(vmlab__spawn "$VMLAB_WORKDIR/iperf3-$port.log" "${args[@]}")
    vmlab__state_add hostpids "$pid"
    vmlab_wait_for 5 vmlab__listening tcp "$port" || { tail -n 5 "$VMLAB_WORKDIR/iperf3-$port.log" >&2; vmlab__err "iperf3 -s -p $port did not start"; return 1; }
}

vmlab__listening() { # tcp|udp PORT
    local out
    if [ "$1" = tcp ]; then out=$(ss -Hltn "sport = :$2" 2>/dev/null); else out=$(ss -Hlun "sport = :$2" 2>/dev/null); fi
    [ -n "$out" ]
}

# vmlab_start_responder TCPPORT [UDPPORT] [BINDIP]: tiny host server for the
# chatty guests (python3): TCP reads a line and answers 512 bytes, then
# closes; UDP answers DNS-style queries (NXDOMAIN).  BINDIP may be an address
# that does not exist yet (IP_FREEBIND).  Returns once listening.
vmlab_start_responder() {
    local tport=${1:?usage: vmlab_start_responder TCPPORT [UDPPORT] [BINDIP]} uport=${2:-0} bind=${3:-0.0.0.0} pid py
    py=/usr/bin/python3; [ -x "$py" ] || py=$(command -v python3) || { vmlab__err "python3 missing"; return 1; }
    mkdir -p "$VMLAB_WORKDIR" || return 1
    cat > "$VMLAB_WORKDIR/responder.py" <<'EOF'
import socket, socketserver, sys, threading
tport, uport, bind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
IP_FREEBIND = 15
PAYLOAD = b"x" * 511 + b"\n"

class H(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        s.settimeout(5)
        try:
            buf = b""
            while b"\n" not in buf and len(buf) < 4096:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
            s.sendall(PAYLOAD)
        except OSError:
            pass

class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 256
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        super().server_bind()

def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
    u.bind((bind, uport))
    while True:
        d, a = u.recvfrom(2048)
        if len(d) >= 12:   # DNS header: answer NXDOMAIN, echo the question
            u.sendto(d[:2] + b"\x81\x83" + d[4:6] + b"\0\0\0\0\0\0" + d[12:], a)

if uport:
    threading.Thread(target=udp, daemon=True).start()
S((bind, tport), H).serve_forever()
EOF
    pid=$(vmlab__spawn "$VMLAB_WORKDIR/responder-$tport.log" "$py" "$VMLAB_WORKDIR/responder.py" "$tport" "$uport" "$bind")
    vmlab__state_add hostpids "$pid"
    vmlab_wait_for 5 vmlab__listening tcp "$tport" || { tail -n 5 "$VMLAB_WORKDIR/responder-$tport.log" >&2; vmlab__err "responder on $tport did not start"; return 1; }
    if [ "$uport" != 0 ]; then vmlab_wait_for 5 vmlab__listening udp "$uport" || { vmlab__err "responder on udp $uport did not start"; return 1; }; fi
}

# vmlab_stop_host_servers: stop the iperf3 servers and responders started above.
vmlab_stop_host_servers() {
    local pid
    for pid in $(vmlab__state_list hostpids); do
        vmlab__kill_wait "$pid" 5 || true
        vmlab__state_del hostpids "$pid"
    done
    return 0
}

# ---------------------------------------------------------------- conntrack --

# vmlab_setup_conntrack: nftables table inet footprintd_lab with a counting
# `ct state` rule on input, forward and output (so conntrack tracks all host
# traffic, the guests' included) and net.netfilter.nf_conntrack_acct=1 (byte
# and packet counters; only flows created afterwards get them).  The previous
# sysctl value is saved once and put back by vmlab_teardown_conntrack.
vmlab_setup_conntrack() {
    mkdir -p "$VMLAB_STATE" || return 1
    # "add table" + "delete table" first makes the load idempotent (and atomic).
    nft -f - <<EOF || { vmlab__err "cannot load nftables table inet $VMLAB_NFT_TABLE"; return 1; }
add table inet $VMLAB_NFT_TABLE
delete table inet $VMLAB_NFT_TABLE
table inet $VMLAB_NFT_TABLE {
    chain input {
        type filter hook input priority 0; policy accept;
        ct state established,related,new counter accept
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        ct state established,related,new counter accept
    }
    chain output {
        type filter hook output priority 0; policy accept;
        ct state established,related,new counter accept
    }
}
EOF
    [ -e /proc/sys/net/netfilter/nf_conntrack_acct ] || { vmlab__err "no nf_conntrack_acct sysctl"; return 1; }
    [ -f "$VMLAB_STATE/acct.orig" ] || sysctl -n net.netfilter.nf_conntrack_acct > "$VMLAB_STATE/acct.orig" || return 1
    sysctl -qw net.netfilter.nf_conntrack_acct=1 || { vmlab__err "cannot set nf_conntrack_acct"; return 1; }
}

# vmlab_teardown_conntrack: remove the table, restore nf_conntrack_acct.
vmlab_teardown_conntrack() {
    nft delete table inet "$VMLAB_NFT_TABLE" >/dev/null 2>&1 || true
    if [ -f "$VMLAB_STATE/acct.orig" ]; then
        sysctl -qw net.netfilter.nf_conntrack_acct="$(cat "$VMLAB_STATE/acct.orig")" || true
        rm -f "$VMLAB_STATE/acct.orig"
    fi
    return 0
}

# vmlab_flush_lab_conntrack: delete the conntrack entries of every lab address.
vmlab_flush_lab_conntrack() {
    local ip
    for ip in $(vmlab__state_list ips); do
        conntrack -D -s "$ip" >/dev/null 2>&1 || true
        conntrack -D -d "$ip" >/dev/null 2>&1 || true
    done
    return 0
}

# vmlab_flows [conntrack -L filters...]: `conntrack -L -o extended` lines.
vmlab_flows() { conntrack -L -o extended "$@" 2>/dev/null || true; }

# ------------------------------------------------------------------ cleanup --

# vmlab_cleanup: idempotent full teardown of everything the lab created, as
# recorded in $VMLAB_STATE (so it also cleans up after a killed run): host
# servers, domains (even with libvirtd dead), leftover taps, libvirtd and
# virtlogd, qemu.conf, the nft table, the lab's conntrack entries and the
# sysctl.  Always returns 0; meant for `trap vmlab_cleanup EXIT`.
vmlab_cleanup() {
    local d t
    local -
    set +e +u
    [ -d "$VMLAB_STATE" ] || { vmlab_teardown_conntrack; vmlab__qemu_conf_restore; return 0; }
    [ -s "$VMLAB_STATE/workdir" ] && VMLAB_WORKDIR=$(<"$VMLAB_STATE/workdir")
    vmlab_stop_host_servers
    for d in $(vmlab__state_list doms); do
        vmlab_destroy_guest "$d" 2>/dev/null
    done
    for t in $(vmlab__state_list taps); do
        [ -e "/sys/class/net/$t" ] && ip link del "$t" 2>/dev/null
        vmlab__state_del taps "$t"
    done
    vmlab_stop_libvirtd
    vmlab_teardown_conntrack
    vmlab_flush_lab_conntrack
    rm -f "$VMLAB_STATE"/{doms,taps,ips,hostpids,workdir}
    [ -s "$VMLAB_STATE/reapers" ] || rm -f "$VMLAB_STATE/reapers"
    rmdir "$VMLAB_STATE" 2>/dev/null
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case ${1:-} in
        cleanup) vmlab_cleanup; vmlab_log "cleanup done" ;;
        *) echo "usage: source ${0##*/} from a test, or: bash $0 cleanup" >&2; exit 2 ;;
    esac
fi

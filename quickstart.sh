#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# footprintd quick start for a fresh Debian 12 host, as root (test also
# runs the hardening gates of scripts/gates.sh):
#   ./quickstart.sh demo   install dependencies, build, run the agent on the built-in demo
#   ./quickstart.sh test   install dependencies, build, run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

# Build and test dependencies, all Debian 12 packages.
DEPS=(
    autoconf automake libtool pkg-config make gcc clang-14 llvm-14 bpftool
    libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
    libglib2.0-dev libglib2.0-bin libjson-glib-dev libsystemd-dev libxml2-dev
    libnl-3-dev libnl-route-3-dev libnl-nf-3-dev libvirt-dev libvirt-glib-1.0-dev
    libsoup-3.0-dev glib-networking
    dbus-daemon iproute2 iputils-ping nftables conntrack iperf3 python3 kmod prometheus
    libvirt-daemon libvirt-clients ethtool
)

install_deps() {
    local missing=()
    for p in "${DEPS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] && return 0
    echo "quickstart: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
    [ -x configure ] || ./autogen.sh
    [ -f Makefile ] || ./configure --sysconfdir=/etc --localstatedir=/var ${CONFIGURE_FLAGS:-}
    make -j"$(nproc)"
}

# summary: the plain "N passed, N failed" line from automake's test logs.
summary() {
    local log=$1 pass fail skip
    pass=$(sed -n 's/^# PASS: *//p' "$log" | awk '{s+=$1} END {print s+0}')
    fail=$(sed -n 's/^# \(FAIL\|ERROR\|XPASS\): *//p' "$log" | awk '{s+=$1} END {print s+0}')
    skip=$(sed -n 's/^# SKIP: *//p' "$log" | awk '{s+=$1} END {print s+0}')
    echo "$pass passed, $fail failed, $skip skipped"
}

[ "$(id -u)" = 0 ] || { echo "quickstart: run as root (BPF, netns, nftables)" >&2; exit 1; }
case "${1:-}" in
demo)
    install_deps
    build
    FP_SRCDIR=$PWD FP_BUILDDIR=$PWD exec bash tests/demo/demo.sh
    ;;
test)
    install_deps
    build
    rc=0
    make check || rc=$?
    grep -h -A3 '^FAIL\|^ERROR' tests/test-suite.log 2>/dev/null | head -60 || true
    # distcheck proves the tarball builds, installs and passes the unit
    # tests; the privileged integration tests (VMs, Placement, Keystone)
    # ran above and run again under the sanitizers below.
    [ $rc = 0 ] && { make distcheck TESTS='$(unit_tests)' || rc=$?; }
    # Hardening gates: ASan/UBSan/LSan over make check, libFuzzer targets,
    # cppcheck/clang-tidy/clang-format, valgrind (see CONTRIBUTING.md).
    [ $rc = 0 ] && { scripts/gates.sh all || rc=$?; }
    [ -f tests/test-suite.log ] && echo "check: $(summary tests/test-suite.log)"
    exit $rc
    ;;
*)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac

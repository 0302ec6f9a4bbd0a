#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the agent costs on a host with many conntrack entries (issue 16):
# N quiet UDP flows from the lab's netns fpA to the host (one datagram per
# (source port, destination port) pair, tests/perf/fp-scale-flows), the
# agent started on the full table with the shipped sweep interval, and,
# once it has swept a few times, over a window of BENCH_WINDOW seconds:
# its CPU (utime + stime from /proc/PID/stat), its peak RSS (VmHWM), the
# longest sweep since it started (`sweep_max_us`, sensing; then the
# longest whole sweep, sensing + learning + consumers, `sweep_whole_max_us`,
# and the most CPU one sensing step used, `sweep_max_cpu_us`: the rest of
# a sweep's time is waiting for conntrack or a CPU), new flows per second
# the kernel logged in the window (what the sender reached), the main
# loop's longest dispatch since the start (`loop_dispatch_max_us`: how long
# a D-Bus call or an event can wait), with its CPU and its run-queue wait
# (waiting for a CPU), the dispatches over 50 ms in the window, dumps /
# sweeps in the window, and how long `footprintctl flows --json` takes
# (given up after 10 s); then, per row, where the longest whole sweep's
# time went step by step, and the ctnetlink fallback's scans.  Next to it, the cost of one `conntrack -L` of the same table in
# the same run (CPU-s of the process, kernel time included), and what that
# dump every 10 s would cost.  Sizes: BENCH_SIZES (default "100000
# 1000000") quiet; then, at the largest, BENCH_CHURN=1 (default) adds 10 %
# of the flows moving (a datagram each per second) and BENCH_NEW_PER_S
# (20000) new flows per second.  BENCH_BACKEND (default auto) forces a
# backend: ctnetlink measures the fallback.
#
# Not a test (no pass/fail on figures, not in `make check`); a small run
# (BENCH_SIZES=2000 BENCH_WINDOW=3) is what integration/bench-scale-small.sh
# runs.  Everything it changes (nf_conntrack_max, nf_conntrack_buckets,
# nf_conntrack_udp_timeout, the lab) is put back at exit, and its flows
# are deleted from conntrack.
# Usage (root, built tree): tests/perf/bench-scale.sh
set -euo pipefail
FP_SRCDIR=${FP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FP_BUILDDIR=${FP_BUILDDIR:-$FP_SRCDIR}
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT
SIZES=${BENCH_SIZES:-100000 1000000}
WINDOW=${BENCH_WINDOW:-60}
CHURN=${BENCH_CHURN:-1}
NEW_PER_S=${BENCH_NEW_PER_S:-20000}
BACKEND=${BENCH_BACKEND:-auto}
MOVING_PCT=10
FLOWS=$FP_BUILDDIR/tests/perf/fp-scale-flows
DST=10.201.1.1
HZ=$(getconf CLK_TCK)
[ -x "$FLOWS" ] || lab_fail "$FLOWS missing: make -C tests fp-scale-flows (make check builds it)"

max=0
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done
# Room for the largest table plus the churn's new flows over a window.
room=$((max + NEW_PER_S * (WINDOW + 30) + 65536))
lab_setup
lab_save_sysctl net.netfilter.nf_conntrack_max "$room"
buckets=$(sysctl -n net.netfilter.nf_conntrack_buckets)
[ "$buckets" -ge $((room / 4)) ] || lab_save_sysctl net.netfilter.nf_conntrack_buckets $((room / 4))
lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout 3600
lab_save_sysctl net.netfilter.nf_conntrack_udp_timeout_stream 3600

# fill N: N quiet flows from fpA to the host (ports 30000 + p, p < 1000).
fill() {
    local n=$1 ports=1000 sockets
    [ "$n" -lt 1000 ] && ports=$n
    sockets=$(((n + ports - 1) / ports))
    lab_log "filling: $sockets x $ports flows"
    ip netns exec fpA "$FLOWS" fill 10.201.1.1 "$sockets" "$ports" >&2
    FILL_SOCKETS=$sockets FILL_PORTS=$ports
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The machine's CPU ticks: busy (user .. softirq) and stolen by the
# hypervisor under this VM, if any.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $9}' /proc/stat; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
st() { fpctl status --json >"$LAB_DIR/status.json"; }
sf() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$LAB_DIR/status.json" "$1"; }
# ct_list_cost: CPU-s of one `conntrack -L` of the whole table, and its entries.
ct_list_cost() {
    "$PY" - <<'PY'
import resource, subprocess
out = subprocess.run(["conntrack", "-L"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f %d" % (r.ru_utime + r.ru_stime, out.count(b"\n")))
PY
}
# flows_time: seconds `footprintctl flows --json` takes, or "timeout".
flows_time() {
    local t0 t1
    t0=$(date +%s.%N)
    if timeout 10 "$FP_BUILDDIR/src/footprintctl" flows --json >"$LAB_DIR/flows.json" 2>"$LAB_DIR/flows.err" &&
        "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$LAB_DIR/flows.json" 2>/dev/null; then
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f s", b - a}'
    else
        echo "no answer ($(head -c 80 "$LAB_DIR/flows.err" | tr '\n' ' '))"
    fi
}

# scans: the ctnetlink fallback's scans of a table too big to dump (in a
# worker thread), when there were any.
scans() {
    [ "$(sf scans)" -gt 0 ] || return 0
    echo "; $(sf scans) scans since the start, the last of $(sf scan_entries) entries:" \
        "$(ms "$(sf scan_cpu_us)") ms of CPU in $(ms "$(sf scan_wall_us)") ms, $(sf scan_kept) flows kept," \
        "$(sf scan_sweeps) sweeps meanwhile, the next $(ms "$(sf scan_interval_us)") ms after it" \
        "(its CPU over the interval: $(awk -v c="$(sf scan_cpu_us)" -v i="$(sf scan_interval_us)" \
            'BEGIN {printf "%.1f", 100 * c / i}') % of a core)"
}

# all_listing N: one `footprintctl flows --all --json` of the whole table
# (the followed flows, then the rest from the agent's paged dump): its
# wall time and flows, the agent's CPU and its largest RSS during it
# (sampled every 50 ms, and VmHWM before and after), footprintctl's peak
# RSS.  A line next to conntrack -L's.
all_listing() {
    local before
    before=$(conntrack -C)
    "$PY" - "$1" "$LAB_AGENT_PID" "$FP_BUILDDIR/src/footprintctl" "$HZ" "$before" <<'PY' >>"$LAB_DIR/ct"
import json, os, resource, subprocess, sys, threading, time
n, pid, ctl, hz, before = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def status(key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
def ticks():
    w = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(w[11]) + int(w[12])
peak, done = [status("VmRSS")], threading.Event()
def sample():
    while not done.wait(0.05):
        peak[0] = max(peak[0], status("VmRSS"))
hwm0, c0 = status("VmHWM"), ticks()
th = threading.Thread(target=sample); th.start()
t0 = time.monotonic()
# Counted as it streams (a million flows are most of a GiB of JSON).
flows = 0
with subprocess.Popen([ctl, "flows", "--all", "--json"], stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL) as p:
    for line in p.stdout:
        if b'"proto"' in line:
            flows += 1
rc = p.returncode
t1 = time.monotonic()
done.set(); th.join()
c1, hwm1 = ticks(), status("VmHWM")
ctl_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
after = subprocess.run(["conntrack", "-C"], stdout=subprocess.PIPE, text=True).stdout.strip()
st = json.loads(subprocess.run([ctl, "status", "--json"], stdout=subprocess.PIPE).stdout)
print(f"| {n} | flows --all --json: {flows} flows in {t1 - t0:.2f} s (exit {rc}; conntrack -C "
      f"{before} before, {after} after); longest page in the agent's main loop "
      f"{st['flow_listing_page_max_us'] / 1000:.1f} ms; agent CPU "
      f"{(c1 - c0) / hz:.2f} CPU-s, RSS at most {peak[0] // 1024} MiB during it (VmHWM "
      f"{hwm0 // 1024} -> {hwm1 // 1024} MiB); footprintctl's peak RSS {ctl_rss // 1024} MiB |")
PY
}

# measure LABEL: one row of the table, for the running agent.
measure() {
    local label=$1 pid=$LAB_AGENT_PID c0 c1 s0 d0 n0 slow0 sw dumps cpu born slow busy0 busy1 steal0 steal1
    # Steady state: the agent has swept a few times since it started.
    settle() { st; [ "$(sf sweeps)" -ge 3 ]; }
    lab_wait_for 600 settle || lab_fail "the agent does not sweep: $(cat "$LAB_DIR/status.json")"
    st
    s0=$(sf sweeps) d0=$(sf sweep_dumps) n0=$(sf flows_new) c0=$(cpu_ticks "$pid")
    slow0=$(sf loop_dispatches_slow)
    read -r busy0 steal0 < <(machine_ticks)
    sleep "$WINDOW"
    c1=$(cpu_ticks "$pid")
    read -r busy1 steal1 < <(machine_ticks)
    st
    sw=$(($(sf sweeps) - s0)) dumps=$(($(sf sweep_dumps) - d0))
    slow=$(($(sf loop_dispatches_slow) - slow0))
    born=$((($(sf flows_new) - n0) / WINDOW))
    cpu=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v w="$WINDOW" 'BEGIN {printf "%.1f", 100 * d / hz / w}')
    printf '| %-34s | %9s | %7s | %5s %% | %6s MiB | %9.1f ms | %6.1f / %6.1f ms | %6.1f ms (%.1f / %.1f) | %4s | %5s / %-5s | %-16s |\n' \
        "$label" "$(conntrack -C)" "$born" "$cpu" "$(($(hwm_kib "$pid") / 1024))" \
        "$(ms "$(sf sweep_max_us)")" "$(ms "$(sf sweep_whole_max_us)")" "$(ms "$(sf sweep_max_cpu_us)")" \
        "$(ms "$(sf loop_dispatch_max_us)")" "$(ms "$(sf loop_dispatch_max_cpu_us)")" \
        "$(ms "$(sf loop_dispatch_max_wait_us)")" "$slow" "$dumps" "$sw" \
        "$(flows_time)" | tee -a "$LAB_DIR/table" >&2
    echo "- $label: longest whole sweep: $(sf sweep_whole_max_steps); loop: most CPU in one dispatch $(ms "$(sf loop_dispatch_cpu_max_us)") ms, longest wake-up wait $(ms "$(sf loop_wake_wait_max_us)") ms, run-queue wait $(ms "$(sf loop_run_queue_wait_us)") ms in all for $(ms "$(sf loop_cpu_us)") ms of CPU; the machine in the window: $(awk -v b=$((busy1 - busy0)) -v s=$((steal1 - steal0)) -v hz="$HZ" -v w="$WINDOW" -v n="$(nproc)" 'BEGIN {printf "%.0f %% of its %d CPUs busy, %.1f %% stolen", 100 * b / hz / w / n, n, 100 * s / hz / w / n}')$(scans)" >>"$LAB_DIR/steps"
}

: >"$LAB_DIR/table"
: >"$LAB_DIR/steps"
: >"$LAB_DIR/ct"
filled=0
for n in $SIZES; do
    [ "$n" -gt "$filled" ] || continue
    fill "$n"
    filled=$n
    read -r ct_cpu ct_lines < <(ct_list_cost)
    echo "| $n | conntrack -L: $ct_cpu CPU-s for $ct_lines entries: every 10 s that is" \
        "$(awk -v c="$ct_cpu" 'BEGIN {printf "%.1f", c * 10}') % of a core |" >>"$LAB_DIR/ct"
    lab_log "$(conntrack -C) conntrack entries; agent starting"
    LAB_SWEEP_MS=1000 LAB_BACKEND=$BACKEND lab_start_agent
    measure "$n quiet"
    all_listing "$n"
    if [ "$CHURN" = 1 ] && [ "$n" = "$max" ]; then
        ip netns exec fpA "$FLOWS" churn $DST "$FILL_SOCKETS" "$FILL_PORTS" $MOVING_PCT \
            "$NEW_PER_S" $((WINDOW + 10)) >"$LAB_DIR/churn.out" 2>&1 &
        churn_pid=$!
        LAB_PIDS+=("$churn_pid")
        sleep 5
        measure "$n, $MOVING_PCT % moving + $NEW_PER_S new/s"
        wait "$churn_pid" || lab_fail "churn sender: $(cat "$LAB_DIR/churn.out")"
        lab_log "$(cat "$LAB_DIR/churn.out")"
    fi
    # An agent that lost its bus connection (a reply over the bus's limit)
    # exits with an error: that is a result, not the benchmark's failure.
    lab_stop_agent || echo "| $n | the agent exited with status $? (log: $(tail -1 "$LAB_DIR/agent.log")) |" >>"$LAB_DIR/ct"
done

echo
echo "footprintd ($BACKEND backend), sweep every 1 s, window $WINDOW s ($(nproc) CPUs, $(uname -r))"
echo "| conntrack entries                  |   entries | new/s   | agent CPU | peak RSS  | longest sweep | whole / sense CPU  | longest dispatch (CPU / run-queue wait) | slow | dumps / sweeps | flows --json     |"
echo "| ---------------------------------- | --------- | ------- | --------- | --------- | ------------- | ------------------ | --------------------------------------- | ---- | -------------- | ---------------- |"
cat "$LAB_DIR/table"
echo
echo "Where the time went (the longest whole sweep since the agent started, and the main loop):"
cat "$LAB_DIR/steps"
echo
echo "The user's alternative, one conntrack -L of the same table, and one"
echo "footprintctl flows --all --json (the whole table, paged) in this run:"
cat "$LAB_DIR/ct"
lab_log "deleting the bench's flows from conntrack"

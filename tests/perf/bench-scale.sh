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
# the kernel logged in the window (what the sender reached), dumps / sweeps in the
# window, and how long `footprintctl flows --json` takes (given up after
# 10 s).  Next to it, the cost of one `conntrack -L` of the same table in
# the same run (CPU-s of the process, kernel time included), and what that
# dump every 10 s would cost.  Sizes: BENCH_SIZES (default "100000
# 1000000") quiet; then, at the largest, BENCH_CHURN=1 (default) adds 10 %
# of the flows moving (a datagram each per second) and BENCH_NEW_PER_S
# (20000) new flows per second.
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
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
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
    local label=$1 pid=$LAB_AGENT_PID c0 c1 s0 d0 n0 sw dumps cpu born
    # Steady state: the agent has swept a few times since it started.
    settle() { st; [ "$(sf sweeps)" -ge 3 ]; }
    lab_wait_for 600 settle || lab_fail "the agent does not sweep: $(cat "$LAB_DIR/status.json")"
    st
    s0=$(sf sweeps) d0=$(sf sweep_dumps) n0=$(sf flows_new) c0=$(cpu_ticks "$pid")
    sleep "$WINDOW"
    c1=$(cpu_ticks "$pid")
    st
    sw=$(($(sf sweeps) - s0)) dumps=$(($(sf sweep_dumps) - d0))
    born=$((($(sf flows_new) - n0) / WINDOW))
    cpu=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v w="$WINDOW" 'BEGIN {printf "%.1f", 100 * d / hz / w}')
    printf '| %-34s | %9s | %7s | %5s %% | %6s MiB | %9.1f ms | %6.1f / %6.1f ms | %5s / %-5s | %-16s |\n' \
        "$label" "$(conntrack -C)" "$born" "$cpu" "$(($(hwm_kib "$pid") / 1024))" \
        "$(awk -v u="$(sf sweep_max_us)" 'BEGIN {print u / 1000}')" \
        "$(awk -v u="$(sf sweep_whole_max_us)" 'BEGIN {print u / 1000}')" \
        "$(awk -v u="$(sf sweep_max_cpu_us)" 'BEGIN {print u / 1000}')" "$dumps" "$sw" \
        "$(flows_time)" | tee -a "$LAB_DIR/table" >&2
}

: >"$LAB_DIR/table"
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
    LAB_SWEEP_MS=1000 lab_start_agent
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
echo "footprintd, sweep every 1 s, window $WINDOW s ($(nproc) CPUs, $(uname -r))"
echo "| conntrack entries                  |   entries | new/s   | agent CPU | peak RSS  | longest sweep | whole / sense CPU  | dumps / sweeps | flows --json     |"
echo "| ---------------------------------- | --------- | ------- | --------- | --------- | ------------- | ------------------ | -------------- | ---------------- |"
cat "$LAB_DIR/table"
echo
echo "The user's alternative, one conntrack -L of the same table, and one"
echo "footprintctl flows --all --json (the whole table, paged) in this run:"
cat "$LAB_DIR/ct"
lab_log "deleting the bench's flows from conntrack"

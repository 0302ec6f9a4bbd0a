#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Where the BPF program's time goes, per function and per instruction (not
# a test: a developer's tool beside bench-sense.sh, whose ratios it
# explains).  It runs the netns lab with the agent and an empty netfilter
# program on the same hooks (bench-sense's yardstick), pushes traffic for
# SECONDS (PROFILE_MIX=mice: 24M iperf3 flows, each followed by 20 short
# connections; bulk: the 24M flows alone), samples every CPU with perf
# (cpu-clock at PROFILE_FREQ Hz), and prints:
#  - samples per BPF function, ours against the empty program's.  Both run
#    once per packet, so this is the cost ratio without bpf_stats' two
#    clock reads per run (which bench-sense's (a) includes on both sides);
#  - the instructions of fp_nf_hook (PROFILE_FUNCS: a comma-separated list)
#    with their samples.  A sample lands on the instruction after the one the
#    CPU waits for: a cache or TLB miss shows as a peak right after its
#    load, the program's entry (its first code line) as a peak on the
#    second instruction.
# Usage (root, built tree; needs perf from linux-perf and objdump from
# binutils): tests/perf/profile-hook.sh [SECONDS]
set -euo pipefail
FP_SRCDIR=${FP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FP_BUILDDIR=${FP_BUILDDIR:-$FP_SRCDIR}
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT
DURATION=${1:-12}
MIX=${PROFILE_MIX:-mice}
case "$MIX" in bulk) MICE=0 ;; mice) MICE=20 ;; *) lab_fail "PROFILE_MIX must be bulk or mice, not '$MIX'" ;; esac
for tool in perf objdump; do
    command -v "$tool" >/dev/null ||
        lab_fail "$tool is missing (apt-get install linux-perf binutils)"
done

LAB_SWEEP_MS=${LAB_SWEEP_MS:-1000}
lab_setup
lab_bg ip netns exec fpB iperf3 -s -p 15201
lab_bg ip netns exec fpB "$PY" "$FP_SRCDIR/tests/lib/mice.py" serve 18080
sleep 0.5
lab_start_agent
lab_empty_hook 400
ours_id=$(lab_prog_id fp_nf_hook)

traffic() {
    local end=$((SECONDS + DURATION + 2))
    while [ "$SECONDS" -lt "$end" ]; do
        lab_bulk_then_mice 24M "$MICE"
    done
}
traffic &
LAB_PIDS+=($!)
sleep 1
echo "== perf record: $DURATION s of '$MIX' traffic, all CPUs, cpu-clock at ${PROFILE_FREQ:-20000} Hz"
perf record -q -a -e cpu-clock -F "${PROFILE_FREQ:-20000}" -o "$LAB_DIR/perf.data" \
    -- sleep "$DURATION" 2>&1 | grep -v '^\[' || true
mkdir -p "$LAB_DIR/jit"
"$FP_BUILDDIR/tests/perf/fp-jit-dump" "$ours_id" "$LAB_DIR/jit" >"$LAB_DIR/funcs"
"$FP_BUILDDIR/tests/perf/fp-jit-dump" "$LAB_EMPTY_ID" "$LAB_DIR/jit" >>"$LAB_DIR/funcs"
grep ' bpf_prog_' /proc/kallsyms >"$LAB_DIR/kallsyms" || true
perf script -i "$LAB_DIR/perf.data" -F ip,sym 2>/dev/null >"$LAB_DIR/samples"

"$PY" - "$LAB_DIR" "${PROFILE_FUNCS:-fp_nf_hook}" <<'PY'
import collections, re, subprocess, sys
lab, wanted = sys.argv[1], sys.argv[2].split(",")
funcs = {}  # address -> (length, name)
names = {}
for line in open(f"{lab}/kallsyms"):
    addr, _, sym = line.split()[:3]
    names[int(addr, 16)] = re.sub(r"^bpf_prog_[0-9a-f]+_", "", sym)
for line in open(f"{lab}/funcs"):
    addr, length = line.split()
    a = int(addr, 16)
    funcs[a] = (int(length), names.get(a, addr))
per_func = collections.Counter()
per_ip = collections.Counter()
total = 0
for line in open(f"{lab}/samples"):
    parts = line.split()
    if not parts:
        continue
    total += 1
    ip = int(parts[0], 16)
    for a, (length, name) in funcs.items():
        if a <= ip < a + length:
            per_func[name] += 1
            per_ip[ip] += 1
            break
empty = per_func.get("fp_nf_empty", 0)
ours = sum(n for name, n in per_func.items() if name != "fp_nf_empty")
print(f"samples: {total} in all, {ours} in our program, {empty} in the empty one")
for name, n in per_func.most_common():
    print(f"    {name:24} {n:6}")
if empty:
    print(f"our program / empty program, per run, without bpf_stats: {ours / empty:.2f}")
for name in wanted:
    hits = [(a, length) for a, (length, n) in funcs.items() if n == name]
    if not hits:
        print(f"== {name}: no such function in the program")
        continue
    a, length = hits[0]
    print(f"== {name}: {per_func.get(name, 0)} samples (samples, offset, instruction)")
    dis = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64",
                          f"--adjust-vma={a:#x}", f"{lab}/jit/{a:x}.bin"],
                         capture_output=True, text=True, check=True).stdout
    for line in dis.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*(.*)", line)
        if m and m.group(2):
            ip = int(m.group(1), 16)
            n = per_ip.get(ip, 0)
            print(f"{n if n else '':>6}  +{ip - a:#05x}  {m.group(2)}")
PY

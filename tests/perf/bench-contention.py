# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers of tests/perf/bench-contention.sh.

  demoted VM IP < footprintctl-tuning.json
      exit 0 when an applied action names the elephant (its VM name or
      address), 1 otherwise
  cpu VM < footprintctl-tuning.json
      exit 0 when a thread or queue mask of VM is moved (an "affinity" or
      "queues" change in force, issue 15's CPU lever), 1 otherwise
  report DIR CONSOLE WARMUP TUNER "COND..."
      the table: round trips per condition from the latency guest's
      console, the elephant's throughput from iperf3's JSON, demotion times
"""
import json
import os
import re
import statistics
import sys

TARGET_RATIO = {200: 0.1, 1000: 0.25}  # p99(enforce) / p99(observe), issue 14
# Issue 15 (both levers): p99(enforce) / p99(observe) at 200 Mbit/s, and
# p99(enforce) / p99(alone) at 1 Gbit/s; both levers in place, and undone,
# within 15 s.
TARGET_OBSERVE_15 = {200: 0.05}
TARGET_ALONE_15 = {1000: 2.0}


def mentions(obj, vm, ip):
    if isinstance(obj, str):
        return obj == vm or obj == ip or obj.startswith(ip + ":") or (" " + ip) in obj
    if isinstance(obj, dict):
        return any(mentions(v, vm, ip) for v in obj.values())
    if isinstance(obj, list):
        return any(mentions(v, vm, ip) for v in obj)
    return False


def demoted(vm, ip):
    """`footprintctl tuning --json` (D-Bus GetTuning): a watched flow of the
    elephant's VM (its "vm", or its address in "flow") that the plan
    demotes and whose conntrack mark is set ("demoted" and "applied");
    failing those fields, a change in force ("actions": the journal) that
    names the VM or its address."""
    try:
        doc = json.load(sys.stdin)
    except ValueError:
        return 1
    if not isinstance(doc, dict):
        return 1
    for f in doc.get("flows", []):
        if (isinstance(f, dict) and f.get("demoted") and f.get("applied")
                and (f.get("vm") == vm or mentions(f.get("flow", ""), vm, ip))):
            return 0
    if "flows" in doc:
        return 1
    actions = doc.get("actions", doc.get("applied", []))
    return 0 if any(mentions(a, vm, ip) for a in actions) else 1


def cpu(vm):
    try:
        doc = json.load(sys.stdin)
    except ValueError:
        return 1
    if not isinstance(doc, dict):
        return 1
    for a in doc.get("actions", []):
        if (isinstance(a, dict) and a.get("knob") in ("affinity", "queues")
                and f"vm {vm} (" in a.get("reason", "")):
            return 0
    return 1


PING = re.compile(rb"seq=(\d+) ttl=\d+ time=([0-9.]+) ms")


def rtts(console, o0, o1):
    with open(console, "rb") as f:
        f.seek(o0)
        chunk = f.read(o1 - o0)
    seqs, times = [], []
    for m in PING.finditer(chunk):
        seqs.append(int(m.group(1)))
        times.append(float(m.group(2)))
    return seqs, times


def loss(seqs):
    """Share of echo requests without a reply within the window (ping's
    sequence numbers; a restarted ping starts a new run of them)."""
    if len(seqs) < 2:
        return 0.0
    expected = 0
    start = prev = seqs[0]
    for s in seqs[1:]:
        if s < prev:  # ping restarted
            expected += prev - start + 1
            start = s
        prev = s
    expected += prev - start + 1
    return max(0.0, 1 - len(seqs) / expected)


def pct(values, q):
    """Nearest-rank percentile."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(round(q / 100 * len(v) + 0.5)) - 1))
    return v[k]


HOSTPING = re.compile(r"^\[(\d+\.\d+)\] .*icmp_seq=\d+ ttl=\d+ time=([0-9.]+) ms")


def host_rtts(path):
    """The host probe's (epoch ms, rtt ms) pairs (ping -D)."""
    out = []
    try:
        for line in open(path):
            m = HOSTPING.match(line)
            if m:
                out.append((float(m.group(1)) * 1000, float(m.group(2))))
    except OSError:
        pass
    return out


def elephant_mbps(path, warm):
    try:
        with open(path) as f:
            doc = json.load(f)
        iv = [i["sum"] for i in doc["intervals"] if i["sum"]["start"] >= warm - 0.01]
        if not iv:
            return None
        return sum(i["bytes"] for i in iv) * 8 / sum(i["seconds"] for i in iv) / 1e6
    except (OSError, ValueError, KeyError):
        return None


def report(d, console, warm, tuner, conds):
    warm = float(warm)
    runs = [line.split() for line in open(os.path.join(d, "runs"))]
    probe = host_rtts(os.path.join(d, "hostping.log"))
    rates = []
    for r in runs:
        if int(r[1]) not in rates:
            rates.append(int(r[1]))
    for rate in rates:
        print(f"\n== bottleneck {rate} Mbit/s (the host's uplink shaped to "
              f"{int(os.environ.get('BENCH_SHAPE_PCT', '95')) * rate // 100} Mbit/s where it is)")
        print(f"{'condition':<14} {'runs':>4} {'pings':>6} {'p50 ms':>8} {'p99 ms':>8}  "
              f"{'p99 per run ms':<22} {'loss':>6} {'host p50':>8} {'host p99':>8} "
              f"{'elephant':>10} {'÷ bneck':>8} {'demotion s':>11} {'uplink B/skb':>12}")
        res = {}
        for cond in conds:
            mine = [r for r in runs if r[0] == cond and int(r[1]) == rate]
            if not mine:
                continue
            all_t, per_run, losses, mbps, dem, lows, host = [], [], [], [], [], [], []
            for _, _, _, o0, o1, tag, w0, w1, x0, x1 in mine:
                host += [t for ts, t in probe if int(w0) <= ts < int(w1)]
                seqs, times = rtts(console, int(o0), int(o1))
                all_t += times
                per_run.append(pct(times, 99))
                losses.append(loss(seqs))
                m = elephant_mbps(os.path.join(d, f"iperf-{tag}.json"), warm)
                if m is not None:
                    mbps.append(m)
                try:
                    for line in open(os.path.join(d, f"demotion-{tag}")):
                        k, ms = line.split()
                        dem.append((k, int(ms) / 1000 if ms != "never" else float("inf")))
                except OSError:
                    pass
                (b0, p0), (b1, p1) = (map(int, x.split(",")) for x in (x0, x1))
                if p1 > p0:
                    lows.append((b1 - b0) / (p1 - p0))
            res[cond] = dict(p50=pct(all_t, 50), p99=pct(all_t, 99), n=len(all_t),
                             mbps=statistics.mean(mbps) if mbps else None, dem=dem,
                             hp50=pct(host, 50), hp99=pct(host, 99))
            ele = f"{res[cond]['mbps']:7.0f} Mb" if mbps else f"{'-':>10}"
            share = f"{res[cond]['mbps'] / rate:8.2f}" if mbps else f"{'-':>8}"
            if cond.startswith("enforce"):
                ds = sorted(v for k, v in dem if k == "ctl") or sorted(v for k, v in dem if k == "mark")
                demo = f"{max(ds):11.1f}" if ds else f"{'never':>11}"
            else:
                demo = f"{'-':>11}"
            low = f"{statistics.mean(lows):12.0f}" if lows else f"{'-':>12}"
            hp = f"{pct(host, 50):8.2f} {pct(host, 99):8.2f}" if host else f"{'-':>8} {'-':>8}"
            print(f"{cond:<14} {len(mine):>4} {len(all_t):>6} {res[cond]['p50']:8.2f} "
                  f"{res[cond]['p99']:8.2f}  {' '.join(f'{p:.2f}' for p in per_run):<22} "
                  f"{statistics.mean(losses) * 100:5.1f}% {hp} {ele} {share} {demo} {low}")
        target = TARGET_RATIO.get(rate)
        tgt = f" (target <= {target})" if target else ""

        def ratio(a, b, k="p99"):
            if a in res and b in res and res[b][k] > 0:
                return res[a][k] / res[b][k]
            return float("nan")

        def host(a, b):
            return f" [host probe: {ratio(a, b, 'hp99'):.3f}]"

        if tuner == "1" and "enforce" in res:
            r = res["enforce"]
            print(f"p99(enforce) / p99(alone)   = {ratio('enforce', 'alone'):.2f}"
                  f"{host('enforce', 'alone')}")
            print(f"p99(enforce) / p99(observe) = {ratio('enforce', 'observe'):.3f}{tgt}"
                  f"{host('enforce', 'observe')}")
            if r["mbps"] is not None:
                print(f"elephant in enforce: {r['mbps'] / rate * 100:.0f} % of the bottleneck "
                      "(target >= 90 %)")
            for k, what in (("ctl", "footprintctl tuning --json names it"),
                            ("mark", "its conntrack entry has a mark")):
                ds = sorted(v for kk, v in r["dem"] if kk == k)
                if ds:
                    print(f"demotion ({what}): {' '.join(f'{v:.1f}' for v in ds)} s after the "
                          f"elephant's start (target <= 2 s)")
                else:
                    print(f"demotion ({what}): not seen within the run")
            for k, what in (("cpu", "the elephant's threads and masks moved"),
                            ("cpuundo", "... and moved back")):
                ds = sorted(v for kk, v in r["dem"] if kk == k)
                since = "start" if k == "cpu" else "end"
                if ds:
                    print(f"CPU lever ({what}): {' '.join(f'{v:.1f}' for v in ds)} s after the "
                          f"elephant's {since} (target <= 15 s)")
            t_obs, t_alone = TARGET_OBSERVE_15.get(rate), TARGET_ALONE_15.get(rate)
            if t_obs:
                print(f"issue 15: p99(enforce) / p99(observe) = {ratio('enforce', 'observe'):.3f} "
                      f"(target <= {t_obs})")
            if t_alone:
                print(f"issue 15: p99(enforce) / p99(alone) = {ratio('enforce', 'alone'):.2f} "
                      f"(target <= {t_alone})")
            if "enforce-egress" in res:
                print(f"queue priority alone: p99(enforce-egress) / p99(alone) = "
                      f"{ratio('enforce-egress', 'alone'):.2f}{host('enforce-egress', 'alone')}, "
                      f"/ p99(observe) = {ratio('enforce-egress', 'observe'):.3f}; both levers / "
                      f"priority alone = {ratio('enforce', 'enforce-egress'):.2f}")
            if "enforce-split" in res:
                print(f"GSO split ([tuning] split_gso): p99(enforce-split) / p99(alone) = "
                      f"{ratio('enforce-split', 'alone'):.2f}{host('enforce-split', 'alone')}, "
                      f"/ p99(observe) = {ratio('enforce-split', 'observe'):.3f}"
                      f"{host('enforce-split', 'observe')}; / p99(enforce) = "
                      f"{ratio('enforce-split', 'enforce'):.2f}")
        elif tuner != "1":
            print("enforce: skipped (no tuner in this build)")
        if "manual" in res:
            print(f"reference, set up by hand: p99(manual) / p99(alone) = "
                  f"{ratio('manual', 'alone'):.2f}{host('manual', 'alone')}, "
                  f"p99(manual) / p99(observe) = {ratio('manual', 'observe'):.3f}{tgt}"
                  f"{host('manual', 'observe')}")
            if res["manual"]["mbps"] is not None:
                print(f"elephant in manual: {res['manual']['mbps'] / rate * 100:.0f} % of the "
                      "bottleneck (target >= 90 %)")
            for v in ("manual-gsooff", "manual-seg", "manual-notso"):
                if v in res:
                    print(f"GSO: p99({v}) / p99(manual) = {ratio(v, 'manual'):.2f}"
                          f"{host(v, 'manual')}; host probe p99 {res[v]['hp99']:.2f} vs "
                          f"{res['manual']['hp99']:.2f} ms")
        if "local" in res and "alone" in res:
            print(f"p99(local) / p99(alone) = {ratio('local', 'alone'):.2f}"
                  f"{host('local', 'alone')}: the elephant's CPU alone, no shared queue"
                  + (f"; p99(manual) / p99(local) = {ratio('manual', 'local'):.2f}"
                     if "manual" in res else "")
                  + (f"; p99(enforce) / p99(local) = {ratio('enforce', 'local'):.2f}"
                     if "enforce" in res else ""))
        if "observe" in res and "alone" in res:
            print(f"p99(observe) / p99(alone) = {ratio('observe', 'alone'):.1f} (no ordering)"
                  f"{host('observe', 'alone')}")


if __name__ == "__main__":
    if sys.argv[1] == "demoted":
        sys.exit(demoted(sys.argv[2], sys.argv[3]))
    if sys.argv[1] == "cpu":
        sys.exit(cpu(sys.argv[2]))
    if sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6].split())

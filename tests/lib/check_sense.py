#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Assertions of the sensing lab test: footprintctl's flows against
conntrack's own accounting (`conntrack -L -o extended`).

usage: check_sense.py BACKEND flows.json conntrack.txt status.json
Prints TAP-ish lines; exits 1 on the first failed assertion."""
import ipaddress
import json
import re
import sys

backend, flows_path, ct_path, status_path = sys.argv[1:5]
flows = json.load(open(flows_path))
status = json.load(open(status_path))
LAB4 = ipaddress.ip_network("10.201.0.0/16")
LAB6 = ipaddress.ip_network("fd00:201::/32")
checks = 0


def ok(cond, what):
    global checks
    checks += 1
    if not cond:
        print(f"not ok {checks} - {what}")
        sys.exit(1)
    print(f"ok {checks} - {what}")


def in_lab(addr):
    a = ipaddress.ip_address(addr)
    return a in (LAB4 if a.version == 4 else LAB6)


def parse_conntrack(path):
    """conntrack -L -o extended: the first src/dst/sport/dport/bytes/packets
    are the original direction, the second ones the reply.  Returns the
    TCP/UDP flows and, apart, the ICMP echo flows."""
    table = {}
    icmp = {}
    for line in open(path):
        f = line.split()
        if len(f) < 4 or f[0] not in ("ipv4", "ipv6"):
            continue
        proto = f[2]
        kv = re.findall(r"(\w+)=(\S+)", line)
        first = {}
        second = {}
        for k, v in kv:
            (second if k in first else first)[k] = v
        zone = int(first.get("zone", 0))
        if proto in ("icmp", "icmpv6", "ipv6-icmp"):
            # Echo: footprintd's sport is the id, dport type << 8 | code.
            if "id" in first and "bytes" in first:
                icmp[(first["src"], first["dst"], int(first["id"]),
                      int(first["type"]) << 8 | int(first["code"]), zone)] = (
                    int(first["bytes"]), int(second.get("bytes", 0)))
            continue
        key = (proto, first["src"], first["dst"], int(first["sport"]), int(first["dport"]), zone)
        if "bytes" not in first:
            continue
        table[key] = (int(first["bytes"]), int(second.get("bytes", 0)),
                      int(first["packets"]), int(second.get("packets", 0)))
    return table, icmp


ok(status["backend"] == backend, f"backend is {backend} ({status['backend_reason']})")
lab = [f for f in flows if in_lab(f["src"])]
for f in lab:
    for field in ("proto", "src", "dst", "sport", "dport", "zone", "bytes_orig", "bytes_reply",
                  "packets_orig", "packets_reply", "elephant", "first_seen", "last_seen",
                  "in_dev", "out_dev"):
        if field not in f:
            ok(False, f"flow has field {field}")
ok(len(lab) > 0, f"{len(lab)} lab flows listed")

mice = [f for f in lab if f["proto"] == "tcp" and f["dport"] in (18080, 18081)]
udp = [f for f in lab if f["proto"] == "udp" and f["dport"] in (18080, 18081)]
ok(len(mice) >= 200, f"{len(mice)} short TCP flows seen (>= 200)")
ok(len(udp) >= 1, f"{len(udp)} UDP flows seen")
ok(any(":" in f["src"] for f in mice), "IPv6 short flows seen")
ok(not any(f["elephant"] for f in mice + udp), "no short flow is an elephant")

fwd = sorted([f for f in lab if f["proto"] == "tcp" and f["dport"] == 15201],
             key=lambda f: f["bytes_orig"] + f["bytes_reply"])
loc = sorted([f for f in lab if f["proto"] == "tcp" and f["dport"] == 15202],
             key=lambda f: f["bytes_orig"] + f["bytes_reply"])
ok(len(fwd) >= 2 and len(loc) >= 2, "iperf3 control and data flows seen (forwarded and local)")
ok(fwd[-1]["elephant"], f"forwarded bulk flow is an elephant ({fwd[-1]['bytes_orig']} B)")
ok(loc[-1]["elephant"], f"bulk flow from the host is an elephant ({loc[-1]['bytes_reply']} B reply)")
ok(loc[-1]["bytes_reply"] > 10 * loc[-1]["bytes_orig"], "host->netns bulk counted as reply")
ok(not fwd[0]["elephant"] and not loc[0]["elephant"], "iperf3 control flows are not elephants")
expect_by = "bpf" if backend == "bpf-netfilter" else "sweep"
ok(fwd[-1]["elephant_by"] == expect_by and loc[-1]["elephant_by"] == expect_by,
   f"elephants detected by {expect_by}")
if backend == "bpf-netfilter":
    ok(fwd[-1]["in_dev"] == "fpa-h" and fwd[-1]["out_dev"] == "fpb-h",
       f"forwarded flow devices {fwd[-1]['in_dev']} -> {fwd[-1]['out_dev']}")
    ok(loc[-1]["in_dev"] == "fpa-h" and loc[-1]["out_dev"] is None,
       f"host-bound flow devices {loc[-1]['in_dev']} -> {loc[-1]['out_dev']}")
    # Short flows get their devices from the kernel's new-flow log.
    fwd_mice = [f for f in mice + udp if f["dport"] == 18080]
    loc_mice = [f for f in mice + udp if f["dport"] == 18081]
    bad = [f for f in fwd_mice if (f["in_dev"], f["out_dev"]) != ("fpa-h", "fpb-h")]
    bad += [f for f in loc_mice if (f["in_dev"], f["out_dev"]) != ("fpa-h", None)]
    ok(fwd_mice and loc_mice and not bad,
       f"devices of all {len(fwd_mice)} forwarded and {len(loc_mice)} host-bound short flows "
       f"({len(bad)} wrong{': ' + str(bad[0]) if bad else ''})")
    ok(status["flows_new"] >= len(mice) + len(udp) and status["flows_log_lost"] == 0
       and status["read_errors"] == 0,
       f"{status['flows_new']} new flows logged, {status['flows_log_lost']} lost, "
       f"{status['read_errors']} conntrack entries unreadable")
    ok(status["samples"] > 0 and status["samples_skipped"] > 0,
       f"{status['samples']} packets sampled, {status['samples_skipped']} of known elephants "
       "skipped")
    ok(status["events"] >= 2 and status["events_dropped"] == 0,
       f"{status['events']} ring-buffer events, {status['events_dropped']} dropped")
    ok(status["bpf_run_count"] > 0 or status["bpf_run_time_ns"] == 0, "BPF stats readable")

if backend == "bpf-netfilter":
    # The kernel's log names every new flow: after the first sweep, a few
    # hundred flows are queried one by one, not dumped.
    ok(status["sweep_dumps"] < status["sweeps"],
       f"{status['sweep_dumps']} of {status['sweeps']} sweeps dumped conntrack")
    # The short flows stood still once they ended (TIME_WAIT): later
    # sweeps ask about them less often.
    ok(status["sweep_queries_spared"] > 0,
       f"queried sweeps asked about {status['sweep_queries']} flows and left "
       f"{status['sweep_queries_spared']} quiet ones alone")
else:
    ok(status["sweep_dumps"] == status["sweeps"],
       f"ctnetlink backend: all {status['sweeps']} sweeps dumped conntrack")

ct, icmp = parse_conntrack(ct_path)
compared = 0
worst = 0.0
for f in lab:
    key = (f["proto"], f["src"], f["dst"], f["sport"], f["dport"], f["zone"])
    if key not in ct:
        continue
    cb = ct[key]
    for ours, theirs in ((f["bytes_orig"], cb[0]), (f["bytes_reply"], cb[1]),
                         (f["packets_orig"], cb[2]), (f["packets_reply"], cb[3])):
        err = abs(ours - theirs) / max(theirs, 1)
        worst = max(worst, err)
    compared += 1
ok(compared >= 200, f"{compared} flows compared with conntrack -L -o extended")
ok(worst <= 0.01, f"bytes/packets per direction within 1% of conntrack (worst {worst:.4%})")
# Pings (IPv4 and IPv6): the echo id and type/code read right, both ways.
pings = {(f["src"], f["dst"], f["sport"], f["dport"], f["zone"]): f for f in lab
         if f["proto"] in ("icmp", "icmpv6")}
lab_icmp = {k: v for k, v in icmp.items() if in_lab(k[0])}
missing = [k for k in lab_icmp if k not in pings]
ok(len(lab_icmp) >= 2 and any(":" in k[0] for k in lab_icmp) and not missing,
   f"{len(lab_icmp)} pings in conntrack (IPv4 and IPv6) listed with id and type "
   f"({len(missing)} missing{': ' + str(missing[0]) if missing else ''}; footprintd has "
   f"{sorted(pings)[:2]})")
print(f"1..{checks}")

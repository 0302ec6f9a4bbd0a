#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the binary seeds of tests/fuzz/corpus/{conntrack,sense-event,newlog}.

The seeds are checked in; run this again only when a layout changes:

    python3 tests/fuzz/gen-corpus.py tests/fuzz/corpus

conntrack: ctnetlink messages laid out byte by byte from
<linux/netfilter/nfnetlink_conntrack.h>, as the kernel sends them
(ctnetlink_fill_info(): tuples, status, counters, timestamps, nested
attributes flagged NLA_F_NESTED, integers in network byte order), for an
event socket (IPCTNL_MSG_CT_NEW, IPCTNL_MSG_CT_DELETE) and for a dump
(NLM_F_MULTI, several messages in one buffer ending with NLMSG_DONE).

sense-event: struct fp_event records of bpf/footprint.h, 112 bytes,
little-endian (x86-64, the host the ring buffer is read on).

newlog: the new-flow log of 2 CPUs with 8 struct fp_new_flow records
(64 bytes) each, as fuzz-newlog.c maps it: in order, lapped, half written.

conntrack/valid-kernel-dump-*: two messages exactly as a 6.x kernel sent
them, not generated: a TCP (127.0.0.1) and a UDP (::1) entry with counters,
dumped in a scratch network namespace with

    ip netns exec NS python3 tests/fuzz/gen-corpus.py --capture DIR

after some loopback traffic through an nftables "ct state" rule and with
net.netfilter.nf_conntrack_acct=1 in that namespace.

Seeds named valid-* must be accepted by the parser and invalid-* refused;
scripts/gates.sh checks that before fuzzing (FP_FUZZ_SEED_CHECK).
"""
import os
import socket
import struct
import sys

# <linux/netlink.h>, <linux/netfilter/nfnetlink.h>
NLM_F_MULTI = 0x2
NLM_F_CREATE = 0x400
NLM_F_EXCL = 0x200
NLMSG_DONE = 3
NLA_F_NESTED = 0x8000
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_NEW = 0
IPCTNL_MSG_CT_DELETE = 2
# <linux/netfilter/nfnetlink_conntrack.h>
CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_STATUS, CTA_PROTOINFO = 1, 2, 3, 4
CTA_TIMEOUT, CTA_MARK, CTA_COUNTERS_ORIG, CTA_COUNTERS_REPLY = 7, 8, 9, 10
CTA_USE, CTA_ID, CTA_ZONE, CTA_TIMESTAMP = 11, 12, 18, 20
CTA_TUPLE_IP, CTA_TUPLE_PROTO, CTA_TUPLE_ZONE = 1, 2, 3
CTA_IP_V4_SRC, CTA_IP_V4_DST, CTA_IP_V6_SRC, CTA_IP_V6_DST = 1, 2, 3, 4
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3
CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMP_CODE = 4, 5, 6
CTA_PROTO_ICMPV6_ID, CTA_PROTO_ICMPV6_TYPE, CTA_PROTO_ICMPV6_CODE = 7, 8, 9
CTA_PROTOINFO_TCP, CTA_PROTOINFO_TCP_STATE = 1, 1
CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, CTA_PROTOINFO_TCP_WSCALE_REPLY = 2, 3
CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, CTA_PROTOINFO_TCP_FLAGS_REPLY = 4, 5
CTA_COUNTERS_PACKETS, CTA_COUNTERS_BYTES = 1, 2
CTA_TIMESTAMP_START, CTA_TIMESTAMP_STOP = 1, 2
IPS_CONFIRMED_SEEN_REPLY_ASSURED = 0x8 | 0x2 | 0x4
TCP_CONNTRACK_ESTABLISHED = 3


def align4(b):
    return b + b"\0" * (-len(b) % 4)


def nla(atype, payload):
    return align4(struct.pack("=HH", 4 + len(payload), atype) + payload)


def nest(atype, *attrs):
    return nla(atype | NLA_F_NESTED, b"".join(attrs))


def u8(atype, v):
    return nla(atype, struct.pack("B", v))


def be16(atype, v):
    return nla(atype, struct.pack("!H", v))


def be32(atype, v):
    return nla(atype, struct.pack("!I", v))


def be64(atype, v):
    return nla(atype, struct.pack("!Q", v))


def tuple_attr(atype, family, src, dst, proto, sport=0, dport=0, icmp=None, zone=None):
    if family == socket.AF_INET:
        ip = nest(CTA_TUPLE_IP, nla(CTA_IP_V4_SRC, socket.inet_pton(family, src)),
                  nla(CTA_IP_V4_DST, socket.inet_pton(family, dst)))
    else:
        ip = nest(CTA_TUPLE_IP, nla(CTA_IP_V6_SRC, socket.inet_pton(family, src)),
                  nla(CTA_IP_V6_DST, socket.inet_pton(family, dst)))
    l4 = [u8(CTA_PROTO_NUM, proto)]
    if icmp is not None:
        ident, itype, code = icmp
        if proto == socket.IPPROTO_ICMP:
            l4 += [be16(CTA_PROTO_ICMP_ID, ident), u8(CTA_PROTO_ICMP_TYPE, itype),
                   u8(CTA_PROTO_ICMP_CODE, code)]
        else:
            l4 += [be16(CTA_PROTO_ICMPV6_ID, ident), u8(CTA_PROTO_ICMPV6_TYPE, itype),
                   u8(CTA_PROTO_ICMPV6_CODE, code)]
    else:
        l4 += [be16(CTA_PROTO_SRC_PORT, sport), be16(CTA_PROTO_DST_PORT, dport)]
    parts = [ip, nest(CTA_TUPLE_PROTO, *l4)]
    if zone is not None:
        parts.append(be16(CTA_TUPLE_ZONE, zone))
    return nest(atype, *parts)


def counters(atype, packets, nbytes):
    return nest(atype, be64(CTA_COUNTERS_PACKETS, packets), be64(CTA_COUNTERS_BYTES, nbytes))


def nlmsg(msg_type, flags, family, attrs, seq=0, pid=0):
    body = struct.pack("!BBH", family, 0, 0) + b"".join(attrs)  # struct nfgenmsg
    hdr = struct.pack("=IHHII", 16 + len(body), NFNL_SUBSYS_CTNETLINK << 8 | msg_type, flags, seq,
                      pid)
    return align4(hdr + body)


def done(seq=0, pid=0):
    return struct.pack("=IHHIIi", 20, NLMSG_DONE, NLM_F_MULTI, seq, pid, 0)


def ct(msg_type, flags, family, src, dst, proto, sport=0, dport=0, icmp=None, acct=None,
       zone=None, tcp=False, seq=0):
    rsrc, rdst = dst, src
    rs, rd = dport, sport
    ricmp = None
    if icmp is not None:
        # The reply of an echo request (8 / 128) is an echo reply (0 / 129).
        ricmp = (icmp[0], {8: 0, 128: 129}.get(icmp[1], icmp[1]), icmp[2])
    attrs = [
        tuple_attr(CTA_TUPLE_ORIG, family, src, dst, proto, sport, dport, icmp, zone),
        tuple_attr(CTA_TUPLE_REPLY, family, rsrc, rdst, proto, rs, rd, ricmp, zone),
        be32(CTA_STATUS, IPS_CONFIRMED_SEEN_REPLY_ASSURED),
    ]
    if msg_type == IPCTNL_MSG_CT_NEW:
        attrs.append(be32(CTA_TIMEOUT, 431999 if tcp else 30))
    if acct is not None:
        attrs += [counters(CTA_COUNTERS_ORIG, acct[0], acct[1]),
                  counters(CTA_COUNTERS_REPLY, acct[2], acct[3])]
    if msg_type == IPCTNL_MSG_CT_DELETE:
        attrs.append(nest(CTA_TIMESTAMP, be64(CTA_TIMESTAMP_START, 1700000000123456789),
                          be64(CTA_TIMESTAMP_STOP, 1700000042123456789)))
    if tcp:
        attrs.append(nest(CTA_PROTOINFO, nest(
            CTA_PROTOINFO_TCP, u8(CTA_PROTOINFO_TCP_STATE, TCP_CONNTRACK_ESTABLISHED),
            u8(CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, 7), u8(CTA_PROTOINFO_TCP_WSCALE_REPLY, 7),
            nla(CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, b"\x27\x00"),
            nla(CTA_PROTOINFO_TCP_FLAGS_REPLY, b"\x27\x00"))))
    if zone is not None:
        attrs.append(be16(CTA_ZONE, zone))
    attrs += [be32(CTA_MARK, 0), be32(CTA_USE, 1), be32(CTA_ID, 0x5eed0001 + seq)]
    return nlmsg(msg_type, flags, family, attrs, seq=seq)


def conntrack_seeds():
    v4, v6 = socket.AF_INET, socket.AF_INET6
    tcp, udp = socket.IPPROTO_TCP, socket.IPPROTO_UDP
    new_flags = NLM_F_CREATE | NLM_F_EXCL
    seeds = {
        # A destroy event: what fp_conntrack_watch_destroy() receives.
        "valid-delete-tcp4-acct": ct(IPCTNL_MSG_CT_DELETE, 0, v4, "10.0.0.1", "10.0.0.2", tcp,
                                     40000, 5201, acct=(120000, 180000000, 60000, 3200000),
                                     tcp=True),
        "valid-new-tcp4-acct": ct(IPCTNL_MSG_CT_NEW, new_flags, v4, "192.168.122.10",
                                  "192.168.122.1", tcp, 51234, 22, acct=(10, 1000, 8, 4000),
                                  tcp=True),
        # nf_conntrack_acct was 0 when it was created: no counters at all.
        "valid-new-udp4-noacct": ct(IPCTNL_MSG_CT_NEW, new_flags, v4, "10.1.0.5", "10.1.0.6",
                                    udp, 53000, 53),
        "valid-delete-udp6-zone": ct(IPCTNL_MSG_CT_DELETE, 0, v6, "fd00::1", "fd00::2", udp,
                                     4789, 4789, acct=(3, 300, 3, 300), zone=7),
        "valid-new-icmp4": ct(IPCTNL_MSG_CT_NEW, new_flags, v4, "10.0.0.1", "10.0.0.2",
                              socket.IPPROTO_ICMP, icmp=(0x1234, 8, 0), acct=(1, 84, 1, 84)),
        "valid-new-icmp6": ct(IPCTNL_MSG_CT_NEW, new_flags, v6, "fe80::1", "fe80::2",
                              socket.IPPROTO_ICMPV6, icmp=(0x77, 128, 0), acct=(2, 208, 2, 208)),
        # A dump reply: several NLM_F_MULTI messages and NLMSG_DONE in one buffer.
        "valid-dump-batch": b"".join([
            ct(IPCTNL_MSG_CT_NEW, NLM_F_MULTI, v4, "10.0.0.1", "10.0.0.2", tcp, 40000, 5201,
               acct=(100, 150000, 50, 2600), tcp=True, seq=1),
            ct(IPCTNL_MSG_CT_NEW, NLM_F_MULTI, v6, "2001:db8::10", "2001:db8::20", udp, 5353,
               5353, acct=(4, 400, 0, 0), seq=1),
            done(seq=1),
        ]),
    }
    base = seeds["valid-new-tcp4-acct"]
    # Cut inside the original tuple, nlmsg_len saying so: the nested
    # attribute claims more bytes than the message has left.
    cut = bytearray(base[:40])
    cut[0:4] = struct.pack("=I", 40)
    seeds["invalid-truncated"] = bytes(cut)
    # No CTA_TUPLE_ORIG: libnl parses it, entry_from_ct() must refuse it.
    seeds["invalid-no-tuple"] = nlmsg(IPCTNL_MSG_CT_NEW, new_flags, v4,
                                      [be32(CTA_STATUS, 8), be32(CTA_ID, 1)])
    # nfgen_family says IPv6 but the tuple carries IPv4 addresses.
    bad = bytearray(base)
    bad[16] = v6
    seeds["invalid-family-mismatch"] = bytes(bad)
    return seeds


def event(family, src, dst, proto, sport, dport, zone=0, etype=1, nbytes=(10485760, 4096)):
    addr = socket.inet_pton(family, src).ljust(16, b"\0"), socket.inet_pton(family, dst).ljust(
        16, b"\0")
    key = struct.pack("<16s16sHHHBB", addr[0], addr[1], sport, dport, zone, family, proto)
    rec = struct.pack("<IIQQ2Q2Q2I2I", etype, 0, 5000000000, 4000000000, nbytes[0], nbytes[1],
                      7200, 80, 3, 4, 4, 3) + key
    assert len(rec) == 112, len(rec)
    return rec


def event_seeds():
    v4, v6 = socket.AF_INET, socket.AF_INET6
    base = event(v4, "10.0.0.1", "10.0.0.2", socket.IPPROTO_TCP, 40000, 5201)
    return {
        "valid-elephant-tcp4": base,
        "valid-elephant-udp6-zone": event(v6, "fd00::1", "fd00::2", socket.IPPROTO_UDP, 4789,
                                          4789, zone=7),
        "valid-elephant-icmp4": event(v4, "10.0.0.1", "10.0.0.2", socket.IPPROTO_ICMP, 0x1234,
                                      8 << 8),
        # libbpf rounds records up to 8 bytes; a longer record is still fine.
        "valid-elephant-padded": base + b"\0" * 8,
        "invalid-short": base[:111],
        "invalid-type": event(v4, "10.0.0.1", "10.0.0.2", socket.IPPROTO_TCP, 1, 2, etype=2),
        "invalid-family": base[:110] + bytes([7, socket.IPPROTO_TCP]),
        "invalid-empty": b"",
    }


def new_flow(n, zone=0):
    key = struct.pack("<16s16sHHHBB", socket.inet_pton(socket.AF_INET, "10.0.0.1").ljust(16, b"\0"),
                      socket.inet_pton(socket.AF_INET, "10.0.0.2").ljust(16, b"\0"),
                      40000 + n, 80, zone, socket.AF_INET, socket.IPPROTO_TCP)
    rec = key + struct.pack("<QIIQ", 1000 + n, 3, 4, n + 1)
    assert len(rec) == 64, len(rec)
    return rec


def newlog_seeds():
    size = 8
    empty = b"\0" * 64
    in_order = [new_flow(n) for n in range(5)] + [empty] * 3 + [new_flow(n) for n in range(8)]
    lapped = [new_flow(n) for n in range(8, 16)] + [new_flow(n) for n in (16, 17, 2, 3, 4, 5, 6, 7)]
    half = [new_flow(0), new_flow(1)[:56] + b"\0" * 8, new_flow(2)] + [empty] * 13
    assert all(len(x) == 64 for x in in_order + lapped + half)
    return {
        "valid-empty": b"",
        "valid-in-order": b"".join(in_order),
        "valid-lapped": b"".join(lapped),
        "valid-half-written": b"".join(half),
    }


def capture(out):
    """Dumps the conntrack table of the current netns, one file per message."""
    sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
    sk.bind((0, 0))
    # IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, all families.
    body = struct.pack("!BBH", socket.AF_UNSPEC, 0, 0)
    sk.send(struct.pack("=IHHII", 16 + len(body), NFNL_SUBSYS_CTNETLINK << 8 | 1, 0x301, 1, 0) +
            body)
    n = 0
    while True:
        data, off = sk.recv(65536), 0
        while off + 16 <= len(data):
            length, msg_type = struct.unpack_from("=IH", data, off)
            if msg_type == NLMSG_DONE or length < 16:
                return n
            with open(os.path.join(out, "valid-kernel-dump-%d" % n), "wb") as f:
                f.write(data[off:off + length])
            n += 1
            off += (length + 3) & ~3


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--capture":
        print("captured %d messages" % capture(sys.argv[2]))
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    for target, seeds in (("conntrack", conntrack_seeds()), ("sense-event", event_seeds()),
                          ("newlog", newlog_seeds())):
        os.makedirs(os.path.join(out, target), exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(out, target, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()

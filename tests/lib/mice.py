#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mice for the lab: many short TCP request/response connections and a few
UDP datagrams.  `mice.py serve PORT` answers both; `mice.py run HOST PORT N`
makes N TCP connections and N/10 UDP exchanges, then prints what it did.
`mice.py quiet HOST N ROUNDS` sends a datagram from each of N source ports
(20000 + i) to HOST's discard port, ROUNDS times 0.2 s apart: N conntrack
flows that then stand still.  `mice.py ping HOST PORT SECONDS` measures
UDP round trips to a `serve` every 2 ms and prints their percentiles (us)
as JSON."""
import json
import socket
import sys
import threading
import time


def serve(port, family):
    addr = "::" if family == socket.AF_INET6 else "0.0.0.0"
    tcp = socket.socket(family, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        tcp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    tcp.bind((addr, port))
    tcp.listen(256)
    udp = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    udp.bind((addr, port))

    def udp_loop():
        while True:
            data, peer = udp.recvfrom(2048)
            udp.sendto(b"pong " + data[:64], peer)

    threading.Thread(target=udp_loop, daemon=True).start()
    while True:
        conn, _ = tcp.accept()
        try:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 512)
        finally:
            conn.close()


def run(host, port, n):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    done = 0
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while s.recv(4096):
            pass
        s.close()
        done += 1
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.settimeout(5)
    for i in range(max(1, n // 10)):
        udp.sendto(b"ping %d" % i, (host, port))
        udp.recvfrom(2048)
    print(f"tcp={done} udp={max(1, n // 10)}")


def quiet(host, n, rounds):
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 20000 + i))
        socks.append(s)
    for r in range(rounds):
        if r:
            time.sleep(0.2)
        for s in socks:
            s.sendto(b"x", (host, 9))


def ping(host, port, seconds):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.settimeout(1)
    rtts, lost = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic_ns()
        udp.sendto(b"ping", (host, port))
        try:
            udp.recvfrom(2048)
            rtts.append((time.monotonic_ns() - t0) / 1000)
        except socket.timeout:
            lost += 1
        time.sleep(0.002)
    rtts.sort()
    pick = lambda q: rtts[min(len(rtts) - 1, int(q * len(rtts)))] if rtts else None
    print(json.dumps({"n": len(rtts), "lost": lost, "p50": pick(0.5), "p99": pick(0.99),
                      "p999": pick(0.999), "max": rtts[-1] if rtts else None}))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        port = int(sys.argv[2])
        threading.Thread(target=serve, args=(port, socket.AF_INET6), daemon=True).start()
        serve(port, socket.AF_INET)
    elif sys.argv[1] == "quiet":
        quiet(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "ping":
        ping(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))

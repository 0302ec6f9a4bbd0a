// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fp-scale-flows: many quiet UDP conntrack entries, fast, for
 * bench-scale.sh.  Flow (s, p) is one datagram from source port
 * SRC_BASE + s to DST:DST_BASE + p; nobody needs to listen (conntrack keeps
 * an unanswered flow for nf_conntrack_udp_timeout).  One sendmmsg() per
 * source socket sends to all its ports at once, so a million entries take
 * seconds, not minutes.
 *
 *   fp-scale-flows fill DST SOCKETS PORTS
 *       SOCKETS x PORTS flows, one datagram each, then exits.
 *   fp-scale-flows churn DST SOCKETS PORTS MOVING_PCT NEW_PER_S SECONDS
 *       for SECONDS: MOVING_PCT % of the filled flows (every port p with
 *       p % 100 < MOVING_PCT) get one datagram a second, spread evenly,
 *       and NEW_PER_S new flows a second come from new source ports
 *       (SRC_BASE + SOCKETS + k, PORTS flows each).
 *
 * Prints what it sent.  IPv4 only (the lab's addresses).
 */
#define _GNU_SOURCE /* sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SRC_BASE 20000
#define DST_BASE 30000
#define PORTS_MAX 4096
#define TICK_NS 10000000LL /* 10 ms */

static struct sockaddr_in dsts[PORTS_MAX];
static struct mmsghdr msgs[PORTS_MAX];
static struct iovec iov;
static char payload[] = "fp";

static long long now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int open_src(unsigned src_port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(src_port)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0) {
        perror("socket");
        exit(1);
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "bind to port %u: %s\n", src_port, strerror(errno));
        exit(1);
    }
    return fd;
}

/* Sends one datagram from @fd to each port in [@from, @to) whose index
 * passes @moving_pct (100: all).  Returns datagrams sent. */
static long send_ports(int fd, unsigned from, unsigned to, unsigned moving_pct)
{
    unsigned n = 0;
    long sent = 0;

    for (unsigned p = from; p < to; p++) {
        if (p % 100 >= moving_pct)
            continue;
        msgs[n].msg_hdr.msg_name = &dsts[p];
        msgs[n].msg_hdr.msg_namelen = sizeof(dsts[p]);
        msgs[n].msg_hdr.msg_iov = &iov;
        msgs[n].msg_hdr.msg_iovlen = 1;
        n++;
    }
    for (unsigned off = 0; off < n;) {
        int r = sendmmsg(fd, msgs + off, n - off, 0);

        if (r < 0) {
            if (errno == EAGAIN || errno == ENOBUFS || errno == EPERM || errno == ECONNREFUSED)
                continue; /* a full queue, or an ICMP error reported on this socket */
            perror("sendmmsg");
            exit(1);
        }
        off += r;
        sent += r;
    }
    return sent;
}

static unsigned arg(const char *s, unsigned max, const char *what)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v > max) {
        fprintf(stderr, "fp-scale-flows: bad %s '%s' (0..%u)\n", what, s, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    unsigned sockets, ports;
    struct in_addr dst;

    int fill = argc > 1 && strcmp(argv[1], "fill") == 0;
    int churn = argc > 1 && strcmp(argv[1], "churn") == 0;

    if ((!fill && !churn) || (churn && argc != 8) || (fill && argc != 5)) {
        fprintf(stderr, "usage: fp-scale-flows fill DST SOCKETS PORTS\n"
                        "       fp-scale-flows churn DST SOCKETS PORTS MOVING_PCT NEW_PER_S "
                        "SECONDS\n");
        return 2;
    }
    if (inet_pton(AF_INET, argv[2], &dst) != 1) {
        fprintf(stderr, "fp-scale-flows: bad IPv4 address '%s'\n", argv[2]);
        return 2;
    }
    sockets = arg(argv[3], 65535 - SRC_BASE, "socket count");
    ports = arg(argv[4], PORTS_MAX, "port count");
    if (ports == 0 || sockets == 0) {
        fprintf(stderr, "fp-scale-flows: at least one socket and one port\n");
        return 2;
    }
    iov.iov_base = payload;
    iov.iov_len = sizeof(payload) - 1;
    for (unsigned p = 0; p < ports; p++) {
        dsts[p].sin_family = AF_INET;
        dsts[p].sin_addr = dst;
        dsts[p].sin_port = htons(DST_BASE + p);
    }
    if (fill) {
        long sent = 0;

        for (unsigned s = 0; s < sockets; s++) {
            int fd = open_src(SRC_BASE + s);

            sent += send_ports(fd, 0, ports, 100);
            close(fd);
        }
        printf("sent %ld datagrams: %u x %u flows\n", sent, sockets, ports);
        return 0;
    }

    unsigned moving_pct = arg(argv[5], 100, "moving percentage");
    unsigned new_per_s = arg(argv[6], 10000000, "new flows per second");
    unsigned seconds = arg(argv[7], 86400, "seconds");
    unsigned ticks_per_s = 1000000000LL / TICK_NS;
    unsigned next_src = SRC_BASE + sockets, new_port = 0;
    long moved = 0, born = 0;
    double new_due = 0;
    int *fds = calloc(sockets, sizeof(int));
    int new_fd = -1;
    long long start = now_ns();

    if (!fds)
        return 1;
    if (SRC_BASE + sockets + (unsigned long long)new_per_s * seconds / (ports ? ports : 1) + 1 >
        65535) {
        fprintf(stderr, "fp-scale-flows: not enough source ports for %u new flows/s\n", new_per_s);
        free(fds);
        return 2;
    }
    for (unsigned s = 0; s < sockets; s++)
        fds[s] = open_src(SRC_BASE + s);
    for (unsigned long long tick = 0; tick < (unsigned long long)seconds * ticks_per_s; tick++) {
        long long wake = start + (long long)(tick + 1) * TICK_NS;
        unsigned slot = tick % ticks_per_s;
        struct timespec ts;

        /* Moving flows: this tick's share of the sockets. */
        for (unsigned s = sockets * slot / ticks_per_s; s < sockets * (slot + 1) / ticks_per_s; s++)
            moved += send_ports(fds[s], 0, ports, moving_pct);
        /* New flows: from new source ports, PORTS flows per port. */
        new_due += (double)new_per_s / ticks_per_s;
        while (new_due >= 1) {
            unsigned n = new_due < ports - new_port ? (unsigned)new_due : ports - new_port;

            if (new_fd < 0)
                new_fd = open_src(next_src++);
            born += send_ports(new_fd, new_port, new_port + n, 100);
            new_due -= n;
            new_port += n;
            if (new_port == ports) {
                close(new_fd);
                new_fd = -1;
                new_port = 0;
            }
        }
        if (now_ns() < wake) {
            ts.tv_sec = wake / 1000000000LL;
            ts.tv_nsec = wake % 1000000000LL;
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
    }
    printf("churn over %u s: %ld datagrams to moving flows, %ld new flows (%.0f/s)\n", seconds,
           moved, born, (double)born / ((double)(now_ns() - start) / 1e9));
    for (unsigned s = 0; s < sockets; s++)
        if (fds[s] >= 0)
            close(fds[s]);
    if (new_fd >= 0)
        close(new_fd);
    free(fds);
    return 0;
}

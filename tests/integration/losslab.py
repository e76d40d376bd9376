"""A lossy subnet of real Linux hosts, for scanning under loss.

The scanner namespace holds a bridge (<net>.1/24); each host is a namespace
of its own on a port of it (<net>.2, .3, ...), a real Linux stack that
answers with its own kernel. Every veth end has netem loss (`tc qdisc netem
loss P%`), so P % of the packets are lost each way, ARP included. Host
kinds, by nftables rules inside the host:

  plain        listeners on the open ports; the kernel resets the rest (closed)
  drop         the open ports; every other TCP segment dropped (filtered)
  reject-rst   the open ports; the rest `reject with tcp reset` (closed)
  reject-icmp  the open ports; the rest `reject with icmpx admin-prohibited`
               (filtered; Linux's ICMP rate limit, one a second after a burst
               of six, leaves most of them silent)

truth() is the state every (address, port) must come out in. Everything is
removed by close(), whatever happens (use it as a context manager).
"""
import os
import subprocess

from netns import Netns

KINDS = ("plain", "drop", "reject-rst", "reject-icmp")
CLOSED = {"plain": "closed", "drop": "filtered", "reject-rst": "closed",
          "reject-icmp": "filtered"}

# Listeners that accept and close (helpers/acceptor.py)
ACCEPTOR = os.path.join(os.path.dirname(__file__), "helpers/acceptor.py")


def drop_at_random(ns, dev, percent, arp=True):
    """Lose percent % of what leaves dev, every kind of packet (ARP too,
    unless arp is False): netem's `loss`, done with an nftables netdev
    egress hook (this kernel has no sch_netem; `numgen random` is the same
    Bernoulli draw)."""
    t = f"pkloss_{dev}"
    only = "" if arp else "ether type ip "
    for rule in (f"add table netdev {t}",
                 f"add chain netdev {t} out {{ type filter hook egress device {dev} priority 0 ; }}",
                 f"add rule netdev {t} out {only}numgen random mod 1000 < {int(percent * 10)} drop"):
        r = ns.run("nft", *rule.split())
        assert r.returncode == 0, (rule, r.stderr)


# From the scanner: a kernel connect to every host's first open port (the
# kernel resends its SYN under loss; 5 attempts of 3 s at most), "ready" when
# all answered, else the addresses that did not.
READY = r"""
import socket, sys
bad = []
for a in sys.argv[2:]:
    for _ in range(5):
        s = socket.socket()
        s.settimeout(3)
        try:
            s.connect((a, int(sys.argv[1])))
            break
        except OSError:
            pass
        finally:
            s.close()
    else:
        bad.append(a)
print("ready" if not bad else "not answering: " + " ".join(bad), flush=True)
"""


class LossLab:
    def __init__(self, net, dev, kinds, ports, open_ports, loss=5, seconds=300, arp_loss=True):
        self.net, self.ports, self.open = net, list(ports), list(open_ports)
        self.scanner = Netns()
        self.hosts = []
        try:
            self.hosts = [Netns() for _ in kinds]
            self.kinds = list(kinds)
            members = [(h, i + 2) for i, h in enumerate(self.hosts)]
            self.scanner.bridge(net, dev, members)
            self.bridge = f"pkbr{dev}"
            self.addrs = [f"{net}.{i + 2}" for i in range(len(self.hosts))]
            for i, (h, kind) in enumerate(zip(self.hosts, self.kinds)):
                self._host(h, kind, f"pkb{dev}x{i}", f"pkp{dev}", loss, seconds, arp_loss)
            r = self.scanner.run("/usr/bin/python3", "-c", READY, self.open[0], *self.addrs,
                                 timeout=60 + 16 * len(self.addrs))
            assert r.stdout.strip() == "ready", f"the lab is not up: {r.stdout} {r.stderr}"
        except BaseException:
            self.close()
            raise

    def _host(self, h, kind, port_dev, host_dev, loss, seconds, arp_loss):
        if loss:
            for ns, d in ((self.scanner, port_dev), (h, host_dev)):
                drop_at_random(ns, d, loss, arp_loss)
        opened = ",".join(map(str, self.open))
        rest = {"drop": "drop", "reject-rst": "reject with tcp reset",
                "reject-icmp": "reject with icmpx type admin-prohibited"}.get(kind)
        if rest:
            for rule in ("add table inet pkloss",
                         "add chain inet pkloss in { type filter hook input priority 0 ; }",
                         f"add rule inet pkloss in tcp dport != {{ {opened} }} {rest}"):
                r = h.run("nft", *rule.split())
                assert r.returncode == 0, r.stderr
        p = h.spawn("/usr/bin/python3", ACCEPTOR, seconds, *self.open)
        assert p.stdout.readline().strip() == "ready"

    def forget_neighbours(self):
        """Empty the scanner's ARP cache: every scan starts as a first one."""
        self.scanner.ip("neigh", "flush", "dev", self.bridge)

    def truth(self):
        """{(addr, port): state} for every host and port."""
        return {(a, p): "open" if p in self.open else CLOSED[k]
                for a, k in zip(self.addrs, self.kinds) for p in self.ports}

    def close(self):
        for h in self.hosts:
            h.close()
        self.scanner.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wrong(truth, got):
    """The pairs whose state differs from the truth (missing ones included)."""
    return sorted((k, v, got.get(k)) for k, v in truth.items() if got.get(k) != v)


def packet_times(pcap, src, proto=6, syn_only=True):
    """Capture timestamps (seconds) of the IPv4 packets of proto that src
    sent - for TCP only SYNs without ACK unless syn_only is False - from a
    pcap file (Ethernet or Linux cooked)."""
    import struct
    out = []
    with open(pcap, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return out
        magic, = struct.unpack("<I", head[:4])
        e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
        nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
        link, = struct.unpack(e + "I", head[20:24])
        off = {1: 14, 113: 16}[link]
        srcb = bytes(int(x) for x in src.split("."))
        for _ in range(10 ** 8):
            rec = f.read(16)
            if len(rec) < 16:
                break
            sec, frac, incl, _ = struct.unpack(e + "IIII", rec)
            data = f.read(incl)
            ip = data[off:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != proto or ip[12:16] != srcb:
                continue
            l4 = ip[(ip[0] & 15) * 4:]
            if proto != 6 or not syn_only or (len(l4) >= 14 and l4[13] & 0x12 == 0x02):
                out.append(sec + frac / (1e9 if nano else 1e6))
    return out


def syn_times(pcap, src):
    """Capture timestamps (seconds) of the SYNs (no ACK) that src sent."""
    return packet_times(pcap, src)


def max_per_second(times):
    """The most packets in any one-second window [t, t + 1) that starts at a
    packet (every window that can hold a maximum starts at one)."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while j < len(times) and times[j] < t + 1.0:
            j += 1
        best = max(best, j - i)
    return best


class Capture:
    """tcpdump on a device inside a namespace, writing a pcap; started ready
    (its "listening on" line read), stopped by its own pid."""

    def __init__(self, ns, dev, path, filt="tcp"):
        self.path = path
        self.p = subprocess.Popen(["ip", "netns", "exec", ns.name, "tcpdump", "-i", dev, "-U", "--immediate-mode",
                                   "-n", "-w", path, filt],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()
        assert "listening on" in line, line

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(2)     # the tcpdump this object started (ip exec'd into it)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=10)
        self.p.stderr.close()
        return self.path

"""Build the capture test files: pcap and pcapng, several link types.

Everything is made here from bytes, so the tests need no capture and no
network: addresses are 198.18.0.0/15 and 2001:db8::/32, timestamps start
at 1700000000 (2023-11-14 22:13:20 UTC). `python3 pcapgen.py DIR` writes the
files; `bulk(path, n)` writes a large file for the benchmark.
"""
import os
import struct
import sys

BASE = 1_700_000_000
A = bytes([198, 18, 0, 2])      # client
B = bytes([198, 18, 0, 1])      # server
A6 = bytes.fromhex("20010db8000000000000000000000002")
B6 = bytes.fromhex("20010db8000000000000000000000001")
MAC_A = bytes.fromhex("020000000002")
MAC_B = bytes.fromhex("020000000001")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ident=1, flags_frag=0x4000, ttl=64, bad=False):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags_frag, ttl,
                      proto, 0, src, dst)
    c = csum(hdr) ^ (0x1234 if bad else 0)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def l4sum(src, dst, proto, seg):
    if len(src) == 4:
        ph = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    else:
        ph = src + dst + struct.pack("!IxxxB", len(seg), proto)
    return csum(ph + seg)


def tcp(src, dst, sport, dport, flags, seq=1000, ack=0, payload=b"", bad=False):
    fl = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}
    f = sum(fl[c] for c in flags)
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, f, 64240, 0, 0) + payload
    c = l4sum(src, dst, 6, seg) ^ (0x0F0F if bad else 0)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return seg[:6] + struct.pack("!H", l4sum(src, dst, 17, seg) or 0xFFFF) + seg[8:]


def ipv6(src, dst, nh, payload, ext=b""):
    return struct.pack("!IHBB16s16s", 6 << 28, len(ext) + len(payload), nh, 64, src, dst) + ext + payload


def eth(payload, ethertype=0x0800, vlan=None, src=MAC_A, dst=MAC_B):
    if vlan is not None:
        return dst + src + struct.pack("!HHH", 0x8100, vlan, ethertype) + payload
    return dst + src + struct.pack("!H", ethertype) + payload


def dns_query(ident, name, qtype=1):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def dns_answer(ident, name, addr):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + addr
    return struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + q + struct.pack("!HH", 1, 1) + ans


def client_hello(sni):
    name = sni.encode()
    ext_sni = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(ext_sni)) + ext_sni
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def dhcp_discover():
    p = struct.pack("!BBBBIHH", 1, 1, 6, 0, 0x3903F326, 0, 0x8000) + b"\0" * 16
    p += MAC_A + b"\0" * 10 + b"\0" * 192 + b"\x63\x82\x53\x63" + b"\x35\x01\x01\xff"
    return p


class Writer:
    """pcap (microseconds) or pcapng, one link type."""

    def __init__(self, path, link=1, ng=False, snap=65535):
        self.f = open(path, "wb")
        self.ng = ng
        self.snap = snap
        if ng:
            shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
            idb = struct.pack("<IIHHI", 1, 20, link, 0, snap) + struct.pack("<I", 20)
            self.f.write(shb + idb)
        else:
            self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, link))

    def add(self, t, frame, caplen=None):
        cap = frame[:caplen] if caplen is not None else frame
        us = int(round(t * 1_000_000))
        if self.ng:
            pad = (-len(cap)) % 4
            blen = 32 + len(cap) + pad
            self.f.write(struct.pack("<IIIIIII", 6, blen, 0, us >> 32, us & 0xFFFFFFFF, len(cap),
                                     len(frame)) + cap + b"\0" * pad + struct.pack("<I", blen))
        else:
            self.f.write(struct.pack("<IIII", us // 1_000_000, us % 1_000_000, len(cap), len(frame))
                         + cap)

    def close(self):
        self.f.close()


def mixed_packets():
    """(time offset, frame[, caplen]) for the Ethernet test file."""
    t = BASE
    out = []

    def add(dt, frame, caplen=None):
        out.append((t + dt, frame, caplen))

    add(0.0, eth(bytes.fromhex("0001080006040001") + MAC_A + A + b"\0" * 6 + B, 0x0806))
    # HTTP on 80: handshake, request, response, close from the client
    c, s = 40000, 80
    add(0.1, eth(ipv4(A, B, 6, tcp(A, B, c, s, "S", 1000))))
    add(0.2, eth(ipv4(B, A, 6, tcp(B, A, s, c, "SA", 5000, 1001))))
    add(0.3, eth(ipv4(A, B, 6, tcp(A, B, c, s, "A", 1001, 5001))))
    req = b"GET /index.html HTTP/1.1\r\nHost: example.test\r\n\r\n"
    add(0.4, eth(ipv4(A, B, 6, tcp(A, B, c, s, "PA", 1001, 5001, req))))
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    add(0.5, eth(ipv4(B, A, 6, tcp(B, A, s, c, "PA", 5001, 1001 + len(req), resp))))
    add(0.6, eth(ipv4(A, B, 6, tcp(A, B, c, s, "FA", 1001 + len(req), 5001 + len(resp)))))
    add(0.7, eth(ipv4(B, A, 6, tcp(B, A, s, c, "FA", 5001 + len(resp), 1002 + len(req)))))
    add(0.8, eth(ipv4(A, B, 6, tcp(A, B, c, s, "A", 1002 + len(req), 5002 + len(resp)))))
    # DNS from an ephemeral port, question and answer
    add(1.0, eth(ipv4(A, B, 17, udp(A, B, 59210, 53, dns_query(0x1234, "example.test")))))
    add(1.1, eth(ipv4(B, A, 17, udp(B, A, 53, 59210, dns_answer(0x1234, "example.test",
                                                                   bytes([198, 18, 0, 80]))))))
    # TLS ClientHello with SNI, on 443
    add(1.2, eth(ipv4(A, B, 6, tcp(A, B, 40001, 443, "S", 7000))))
    add(1.3, eth(ipv4(B, A, 6, tcp(B, A, 443, 40001, "SA", 9000, 7001))))
    add(1.4, eth(ipv4(A, B, 6, tcp(A, B, 40001, 443, "PA", 7001, 9001, client_hello("secure.example.test")))))
    # DHCP discover, broadcast
    add(2.0, eth(ipv4(bytes(4), bytes([255] * 4), 17, udp(bytes(4), bytes([255] * 4), 68, 67, dhcp_discover())),
                 dst=b"\xff" * 6))
    # VLAN-tagged DNS
    add(2.1, eth(ipv4(A, B, 17, udp(A, B, 50000, 53, dns_query(7, "vlan.example.test"))), vlan=100))
    # IPv6 with hop-by-hop and destination options, then UDP
    hbh = bytes([60, 0]) + b"\x01\x04\0\0\0\0"        # next: dest options
    dst = bytes([17, 0]) + b"\x01\x04\0\0\0\0"        # next: UDP
    seg = udp(A6, B6, 50001, 53, dns_query(8, "v6.example.test"))
    add(2.2, eth(ipv6(A6, B6, 0, seg, hbh + dst), 0x86DD))
    # ICMP port unreachable about a UDP packet to a closed port
    probe = ipv4(A, B, 17, udp(A, B, 40002, 9, b"x"))
    add(2.3, eth(ipv4(B, A, 1, struct.pack("!BBHI", 3, 3, 0, 0) + probe[:28])))
    # ICMPv6 echo request
    add(2.4, eth(ipv6(A6, B6, 58, struct.pack("!BBHHH", 128, 0, 0, 1, 1)), 0x86DD))
    # truncated: the capture kept only part of the TCP header
    add(2.5, eth(ipv4(A, B, 6, tcp(A, B, 40003, 22, "S", 1))), 14 + 20 + 10)
    # bad IPv4 header checksum; bad TCP checksum (--checksums)
    add(2.6, eth(ipv4(A, B, 17, udp(A, B, 40004, 123, b"\x23" + b"\0" * 47), bad=True)))
    add(2.7, eth(ipv4(A, B, 6, tcp(A, B, 40005, 25, "S", 1, bad=True))))
    # IPv4 fragments
    big = udp(A, B, 40006, 5000, b"F" * 40)
    add(2.8, eth(ipv4(A, B, 17, big[:24], ident=77, flags_frag=0x2000)))
    add(2.9, eth(ipv4(A, B, 17, big[24:], ident=77, flags_frag=3)))
    # port reuse: SSH session reset, then a new one on the same ports
    for k, dt in enumerate((3.0, 3.5)):
        add(dt, eth(ipv4(A, B, 6, tcp(A, B, 40007, 22, "S", 100 + k))))
        add(dt + 0.1, eth(ipv4(B, A, 6, tcp(B, A, 22, 40007, "SA", 200, 101 + k))))
        add(dt + 0.2, eth(ipv4(A, B, 6, tcp(A, B, 40007, 22, "A", 101 + k, 201))))
        add(dt + 0.3, eth(ipv4(A, B, 6, tcp(A, B, 40007, 22, "R", 101 + k))))
    # rejected (REJ) and unanswered (S0)
    add(4.0, eth(ipv4(A, B, 6, tcp(A, B, 40008, 3389, "S", 1))))
    add(4.1, eth(ipv4(B, A, 6, tcp(B, A, 3389, 40008, "RA", 0, 2))))
    add(4.2, eth(ipv4(A, B, 6, tcp(A, B, 40009, 6379, "S", 1))))
    # a long UDP session: NTP every 30 s, then a 100 s gap (a new flow)
    for k in range(6):
        add(5 + 30 * k, eth(ipv4(A, B, 17, udp(A, B, 40010, 123, b"\x23" + b"\0" * 47))))
        add(5.01 + 30 * k, eth(ipv4(B, A, 17, udp(B, A, 123, 40010, b"\x24" + b"\0" * 47))))
    add(255, eth(ipv4(A, B, 17, udp(A, B, 40010, 123, b"\x23" + b"\0" * 47))))
    return out


def write_all(d):
    os.makedirs(d, exist_ok=True)
    pk = mixed_packets()
    for name, ng in (("mixed.pcap", False), ("mixed.pcapng", True)):
        w = Writer(os.path.join(d, name), 1, ng)
        for t, frame, cap in pk:
            w.add(t, frame, cap)
        w.close()
    one = ipv4(A, B, 17, udp(A, B, 59210, 53, dns_query(1, "link.example.test")))
    back = ipv4(B, A, 17, udp(B, A, 53, 59210, dns_answer(1, "link.example.test", B)))
    sll = lambda ip: struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\0\0", 0x0800) + ip
    sll2 = lambda ip: struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, MAC_A + b"\0\0") + ip
    null = lambda ip: struct.pack("<I", 2) + ip
    for name, link, wrap in (("sll.pcap", 113, sll), ("sll2.pcap", 276, sll2),
                             ("raw.pcap", 101, lambda ip: ip), ("null.pcap", 0, null)):
        w = Writer(os.path.join(d, name), link)
        w.add(BASE, wrap(one))
        w.add(BASE + 0.001, wrap(back))
        w.close()
    data = open(os.path.join(d, "mixed.pcap"), "rb").read()
    open(os.path.join(d, "truncated.pcap"), "wb").write(data[:len(data) - 30])
    open(os.path.join(d, "corrupt.pcap"), "wb").write(b"\x00\x01\x02\x03" + data[4:100])


def bulk(path, n, flows=20000):
    """n packets: TCP sessions of 10 packets and DNS pairs, many flows."""
    w = Writer(path, 1)
    t = BASE
    made = 0
    templates = []
    while made < n:
        i = made // 10 % flows
        cport = 1024 + i % 60000
        src = bytes([198, 18, (i >> 8) & 255, i & 255])
        if i % 4 == 0:
            pk = [ipv4(src, B, 17, udp(src, B, cport, 53, dns_query(i & 0xFFFF, "bulk.example.test"))),
                  ipv4(B, src, 17, udp(B, src, 53, cport, dns_answer(i & 0xFFFF, "bulk.example.test", B)))]
        else:
            pk = [ipv4(src, B, 6, tcp(src, B, cport, 443, "S", 1)),
                  ipv4(B, src, 6, tcp(B, src, 443, cport, "SA", 9, 2)),
                  ipv4(src, B, 6, tcp(src, B, cport, 443, "A", 2, 10))]
            pk += [ipv4(src, B, 6, tcp(src, B, cport, 443, "PA", 2, 10, b"x" * 100))] * 3
            pk += [ipv4(B, src, 6, tcp(B, src, 443, cport, "PA", 10, 302, b"y" * 300))] * 2
            pk += [ipv4(src, B, 6, tcp(src, B, cport, 443, "FA", 302, 610)),
                   ipv4(B, src, 6, tcp(B, src, 443, cport, "FA", 610, 303))]
        for ip in pk:
            if made >= n:
                break
            t += 0.00001
            w.add(t, eth(ip))
            made += 1
    w.close()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--bulk":
        bulk(sys.argv[2], int(sys.argv[3]))
    else:
        write_all(sys.argv[1])

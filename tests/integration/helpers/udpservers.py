"""Tiny UDP services for the scan lab: DNS on the ports given with dns:PORT,
NTP on ntp:PORT. They answer only well-formed requests of their protocol,
as real servers do. Prints "ready", then serves until stdin closes (120 s).
"""
import os
import select
import socket
import struct
import sys

socks = {}
for spec in sys.argv[1:]:
    kind, port = spec.split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    socks[s] = kind
print("ready", flush=True)


def dns_reply(q):
    if len(q) < 12 or q[2] & 0x80 or struct.unpack("!H", q[4:6])[0] < 1:
        return None
    return q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x00\x00\x00\x00\x00" + q[12:]


def ntp_reply(q):
    if len(q) != 48 or q[0] & 7 != 3:
        return None
    return bytes([0x24, 2, 0, 0xE9]) + b"\0" * 44


while True:
    r, _, _ = select.select(list(socks) + [sys.stdin], [], [], float(os.environ.get("LAB_SECONDS", "120")))
    if not r or sys.stdin in r:
        break
    for s in r:
        data, addr = s.recvfrom(2048)
        rep = dns_reply(data) if socks[s] == "dns" else ntp_reply(data)
        if rep:
            s.sendto(rep, addr)

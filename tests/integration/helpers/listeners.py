"""Open the listeners named on the command line and hold them.

Each argument is PROTO:ADDRESS:PORT (tcp:0.0.0.0:23, udp:127.0.0.1:123,
tcp:[::]:80). Prints this process's pid when all are bound, then waits for
stdin to close (at most 120 s).
"""
import os
import select
import socket
import sys

keep = []
for spec in sys.argv[1:]:
    proto, rest = spec.split(":", 1)
    addr, _, port = rest.rpartition(":")
    fam = socket.AF_INET6 if addr.startswith("[") else socket.AF_INET
    addr = addr.strip("[]")
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    if proto == "tcp":
        s.listen(16)
    keep.append(s)
print(os.getpid(), flush=True)
select.select([sys.stdin], [], [], 120)

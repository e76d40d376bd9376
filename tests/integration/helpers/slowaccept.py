"""A TCP listener with a backlog of 1 that accepts slowly (as xrdp does):
port from argv[1], DELAY ms between accepts from argv[2]. Prints its pid
when listening, serves until stdin closes (at most 120 s)."""
import os
import select
import socket
import sys

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(1)
delay = int(sys.argv[2]) / 1000
print(os.getpid(), flush=True)
for _ in range(100000):
    r, _, _ = select.select([s, sys.stdin], [], [], 120)
    if sys.stdin in r or not r:
        break
    c, _ = s.accept()
    c.close()
    select.select([], [], [], delay)

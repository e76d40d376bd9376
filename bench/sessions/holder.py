"""Hold N loopback TCP sockets in the current network namespace for a benchmark.

A process may hold only so many descriptors (RLIMIT_NOFILE; root may lack
CAP_SYS_RESOURCE to raise it), so the sockets are spread over worker
processes of at most PER_PROC sockets, each with its own listener and
established pairs to it. The parent keeps one idle listener: the port `who`
is asked about. Prints "WHO_PORT PID" when all are ready, then everyone
waits for stdin to close (at most 30 minutes).
"""
import os
import resource
import select
import socket
import sys

n = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
per_proc = max(2, (min(hard, 1 << 20) - 64) // 2 * 2)
idle = socket.socket()
idle.bind(("127.0.0.1", 0))
idle.listen(16)
children = []
left = n
while left > 0:
    take = min(per_proc, left)
    left -= take
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        idle.close()
        os.close(r)
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(4096)
        keep = []
        for _ in range(take // 2):
            c = socket.socket()
            c.connect(lst.getsockname())
            a, _ = lst.accept()
            keep += (c, a)
        os.write(w, b"x")
        os.close(w)
        select.select([sys.stdin], [], [], 1800)
        os._exit(0)
    os.close(w)
    os.read(r, 1)
    os.close(r)
    children.append(pid)
print(idle.getsockname()[1], os.getpid(), flush=True)
select.select([sys.stdin], [], [], 1800)
for pid in children:
    os.waitpid(pid, 0)

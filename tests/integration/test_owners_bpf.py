"""Socket owners from the BPF iterator and from /proc: the same answer.

A network namespace made here holds sockets in every shape owners take: a
listener shared by a parent and its fork, sockets made by a second thread
(same descriptor table), a thread that unshared its table (its sockets are
not the process's in /proc/PID/fd, and must not be in the BPF answer
either), a process in a PID namespace of its own (seen with the outer
number), dup()ed descriptors, UDP and IPv6. `ls -p`, `ls -tap --json` and
`who PORT` must print the same with PORTKIT_OWNERS=bpf and =proc, and the
/proc fixtures of the golden tests keep their answer (a fixture is always
read as files).
"""
import json
import os
import subprocess
import sys

import pytest

from conftest import BIN, ROOT
from netns import Netns

HOLDERS = r"""
import ctypes, os, socket, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
keep = []
def listen(port, fam=socket.AF_INET, addr="127.0.0.1", kind=socket.SOCK_STREAM):
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    if kind == socket.SOCK_STREAM:
        s.listen()
    keep.append(s)
    return s
shared = listen(7001)
listen(7002, socket.AF_INET6, "::1")
listen(7003, kind=socket.SOCK_DGRAM)
keep.append(os.dup(shared.fileno()))            # the same socket twice in one table
c = socket.create_connection(("127.0.0.1", 7001)); keep.append(c)
a, _ = shared.accept(); keep.append(a)
def thread_sockets():
    listen(7004)                                 # shares the process's table
t = threading.Thread(target=thread_sockets); t.start(); t.join()
own_table = threading.Event()
def unshared():
    libc.unshare(0x00000400)                     # CLONE_FILES: a table of its own
    s = socket.socket(); s.bind(("127.0.0.1", 7005)); s.listen()
    own_table.set()
    time.sleep(120)
threading.Thread(target=unshared, daemon=True).start()
own_table.wait(10)
pid = os.fork()
if pid == 0:                                     # the fork shares 7001..7004
    listen(7006)
    sys.stdout.write("child\n"); sys.stdout.flush()
    time.sleep(120); os._exit(0)
print("ready", flush=True)
time.sleep(120)
"""

INNER = r"""
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 7010)); s.listen()
print("ready", flush=True)
time.sleep(120)
"""


def bpf_works():
    r = subprocess.run([BIN, "ls", "-p"], env=dict(os.environ, PORTKIT_OWNERS="bpf"),
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0, r.stderr


def run(ns, mode, *args):
    r = ns.run(BIN, *args, env={"PORTKIT_OWNERS": mode})
    return r.returncode, r.stdout, r.stderr


def test_bpf_and_proc_owners_agree():
    ok, why = bpf_works()
    if not ok:
        pytest.skip(f"BPF owners cannot work here: {why.strip()}")
    with Netns() as ns:
        h = ns.spawn(sys.executable, "-c", HOLDERS)
        lines = {h.stdout.readline().strip(), h.stdout.readline().strip()}
        assert lines == {"ready", "child"}
        inner = subprocess.Popen(ns.cmd("unshare", "--pid", "--fork", sys.executable, "-c",
                                        INNER), stdout=subprocess.PIPE, text=True)
        ns.procs.append(inner)
        assert inner.stdout.readline().strip() == "ready"
        for args in (("ls", "-ap"), ("ls", "-tap", "--json"), ("ls", "-uap", "--json"),
                     ("who", "7001"), ("who", "7001", "--json"), ("who", "7005"),
                     ("who", "7010", "--json"), ("ls", "-lp", "--port", "7002")):
            b, p = run(ns, "bpf", *args), run(ns, "proc", *args)
            assert b == p, (args, b, p)
        # who PORT asked the kernel by port while it dumped (the path compared above)
        t = ns.run(BIN, "who", "7001", env={"PORTKIT_OWNERS": "bpf", "PORTKIT_OWNERS_TRACE": "1"})
        assert "by port, beside the dump" in t.stderr, t.stderr
        out = run(ns, "bpf", "ls", "-tap", "--json")[1]
        recs = [json.loads(x) for x in out.splitlines()]
        by_port = {r["local_port"]: r for r in recs if r["state"] == "LISTEN"}
        # the fork shares 7001 with its parent: both hold it
        assert len(by_port[7001]["owners"]) == 2
        assert {o["pid"] for o in by_port[7001]["owners"]} == \
            {o["pid"] for o in by_port[7004]["owners"]}
        # the thread with a table of its own: not in /proc/PID/fd, nor here
        assert by_port[7005]["owners"] == []
        # the process in its own PID namespace, under the number this one gives it
        assert by_port[7010]["owners"][0]["pid"] != 1
        assert os.path.exists(f"/proc/{by_port[7010]['owners'][0]['pid']}")


def test_fixtures_are_read_as_files(tmp_path):
    """PORTKIT_OWNERS=bpf with a /proc fixture: the fixture is still the answer."""
    golden = os.path.join(ROOT, "tests/data/sessions")
    if not os.path.isdir(golden):
        pytest.skip("no session fixtures")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        os.path.join(ROOT, "tests/integration/test_golden.py")],
                       env=dict(os.environ, PORTKIT_OWNERS="bpf"), capture_output=True,
                       text=True, timeout=300, cwd=os.path.join(ROOT, "tests/integration"))
    assert r.returncode == 0, r.stdout[-2000:]

"""portkit top names the process behind client connections that live between two looks.

A session opened and closed between two refreshes is never in a dump; top knows it only
from its destroy message, when no process holds it any more. The kernel's record of who
connected it (core/host/sockowner, a tracepoint at SYN-SENT) names its owner: a client
that makes short connections must be counted under its own pid and comm, not under
"(no owner)" (pid null). In a namespace of the test's own, on its loopback: a server
(helpers/shortconn.py) in one process, a client renamed "pkshortcli" in another, and
`portkit top -g proc --port PORT` watching.
"""
import json
import subprocess
import sys

import pytest

from conftest import BIN
from netns import Netns
from test_top import PY, SHORTCONN, Lines, parse

PORT, REQ, REP, CONNS, COUNT = 5320, 1000, 4000, 200, 4
COMM = "pkshortcli"

# CONNS connections one after another, each closed before the next: each lives well under
# a millisecond, far less than top's one-second interval. Prints its pid and the bytes moved.
CLIENT = r"""
import json, os, socket, sys, time
port, req, rep, conns, comm = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                               int(sys.argv[4]), sys.argv[5])
with open("/proc/self/comm", "w") as f:
    f.write(comm)
tx = rx = 0
end = time.monotonic() + 60
for _ in range(conns):
    assert time.monotonic() < end, "the client took too long"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"q" * req)
        tx += req
        got = 0
        while got < rep:
            d = c.recv(rep - got)
            if not d:
                break
            got += len(d)
        rx += got
print(json.dumps({"pid": os.getpid(), "tx": tx, "rx": rx}), flush=True)
"""


@pytest.fixture
def ns():
    n = Netns()
    try:
        yield n
    finally:
        n.close()


def test_short_client_connections_have_their_owner(ns):
    srv = subprocess.Popen(ns.cmd(PY, SHORTCONN, "server", PORT, REQ, REP), text=True,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    ns.procs.append(srv)
    srv_out = Lines(srv)
    assert srv_out.get(15).strip() == "ready", "the short-connection server did not start"
    top = subprocess.Popen([BIN, "top", "--netns", ns.name, "-b", "--json", "-g", "proc",
                            "-d", "1", "-n", str(COUNT), "--port", str(PORT)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        top_out = Lines(top)
        first = top_out.get(15)     # top has taken its baseline: what follows, it watches
        assert first, "top printed nothing in its first interval: " + top.stderr.read()
        cp = ns.run(PY, "-c", CLIENT, PORT, REQ, REP, CONNS, COMM, timeout=90)
        assert cp.returncode == 0, cp.stderr
        moved = json.loads(cp.stdout)
        out = top_out.rest(COUNT + 30)
        top.wait(timeout=10)
        err = top.stderr.read()
    finally:
        if top.poll() is None:
            top.kill()
            top.wait(timeout=10)
    assert top.returncode == 0, err
    assert moved["tx"] == CONNS * REQ and moved["rx"] == CONNS * REP, moved
    by = parse(first + out, COUNT)
    # a process's record is there in the intervals it moved bytes in; its *_bytes count
    # since start, so the last one it has holds them all
    procs = [r for i in sorted(by) for r in by[i] if r["group"] == "proc"]
    mine = [r for r in procs if r.get("pid") == moved["pid"]]
    nobody = [r for r in procs if r.get("pid") is None]
    print(json.dumps(procs), file=sys.stderr)     # shown when it fails
    assert mine, f"no record of the client (pid {moved['pid']}): {procs}"
    assert all(r.get("comm") == COMM for r in mine), mine
    # every byte the client moved is its own, none is nobody's. RX is tcp_info's
    # bytes_received, which counts the peer's FIN as one byte (measured: 800,200 for 800,000)
    assert mine[-1]["tx_bytes"] == moved["tx"], mine[-1]
    assert moved["rx"] <= mine[-1]["rx_bytes"] <= moved["rx"] + CONNS, mine[-1]
    assert sum(r["tx_bytes"] + r["rx_bytes"] for r in nobody) == 0, nobody

"""portkit ls / who against the kernel's own view (ss) in a fresh namespace."""
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import BIN
from netns import Netns

HELPER = os.path.join(os.path.dirname(__file__), "helpers/sockets.py")
PY = "/usr/bin/python3"


def norm_addr(a):
    if a is None:       # portkit: a socket with no remote end
        return "*"
    a = a.strip("[]")
    a = a.split("%")[0]
    if a in ("*", "0.0.0.0", "::"):
        return "*"
    return a


def ss_set(ns, *args):
    r = ns.run("ss", "-tuanH", *args)
    assert r.returncode == 0, r.stderr
    out = set()
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) < 6:
            continue
        proto, state, local, peer = f[0], f[1], f[4], f[5]
        la, _, lp = local.rpartition(":")
        ra, _, rp = peer.rpartition(":")
        out.add((proto, norm_addr(la), int(lp), norm_addr(ra), 0 if rp == "*" else int(rp),
                 state))
    return out


def pk_set(recs):
    return {(r["proto"], norm_addr(r["local_addr"]), r["local_port"], norm_addr(r["remote_addr"]),
             r["remote_port"] or 0, r["state"]) for r in recs}


def pk_json(ns, *args, env=None):
    r = ns.run(BIN, "ls", *args, "--json", env=env)
    assert r.returncode == 0, r.stderr
    return [json.loads(l) for l in r.stdout.splitlines()]


@pytest.fixture
def zoo():
    with Netns() as ns:
        # a veth pair inside the namespace: 198.18.0.99 never answers there
        ns.ip("link", "add", "pkv0", "type", "veth", "peer", "name", "pkv1")
        ns.ip("addr", "add", "198.18.0.1/24", "dev", "pkv0")
        ns.ip("link", "set", "pkv0", "up")
        ns.ip("link", "set", "pkv1", "up")
        # a pinned neighbour: without an ARP answer the SYN-SENT socket would
        # be dropped after ~3 s, with it the SYN is retried for minutes
        ns.ip("neigh", "replace", "198.18.0.99", "lladdr", "02:00:00:00:00:99", "dev", "pkv0",
              "nud", "permanent")
        p = ns.spawn(PY, HELPER, "--syn-sent")
        info = json.loads(p.stdout.readline())
        ns.info = info
        yield ns


def test_same_set_as_ss(zoo):
    ours = pk_set(pk_json(zoo, "-a"))
    theirs = ss_set(zoo)
    assert ours == theirs
    states = {t[5] for t in ours}
    assert {"LISTEN", "ESTAB", "TIME-WAIT", "UNCONN", "SYN-SENT", "CLOSE-WAIT",
            "FIN-WAIT-2"} <= states
    assert any(t[1].startswith("::ffff:127.0.0.1") for t in ours)  # v4-mapped
    assert any(t[1] == "::1" for t in ours)


def test_filters_match_ss(zoo):
    l4 = zoo.info["tcp_listen"][0]
    cases = [
        (["-t", "-a"], ["-t", "-a"]),
        (["-l"], ["-l"]),
        ([], []),
        (["-a", "--state", "time-wait"], None),
        (["--state", "listen,close-wait"], None),
        (["-a", "--sport", str(l4)], ["-a", f"sport = :{l4}"]),
        (["-a", "--dport", str(l4)], ["-a", f"dport = :{l4}"]),
        (["-a", "--port", str(l4)], ["-a", f"( sport = :{l4} or dport = :{l4} )"]),
        (["-a", "-6"], ["-a", "-6"]),
        (["-a", "-4", "-u"], ["-a", "-4", "-u"]),
        (["-a", "::1"], ["-a", "( src [::1] or dst [::1] )"]),
        (["-a", "--dst", "198.18.0.0/15"], ["-a", "dst 198.18.0.0/15"]),
        (["-a", "--src", "127.0.0.0/8", "--dport", "1-1023"], None),
    ]
    every = pk_json(zoo, "-a")
    for ours, ss_args in cases:
        got = pk_set(pk_json(zoo, *ours))
        if ss_args is not None:
            ss_a = [a for a in ss_args if a not in ("-t", "-u")]
            proto = [a for a in ss_args if a in ("-t", "-u")]
            r = zoo.run("ss", "-nH", *(proto or ["-t", "-u"]), *ss_a)
            want = set()
            for line in r.stdout.splitlines():
                f = line.split()
                if f and f[0] in ("tcp", "udp") and len(f) >= 6:
                    la, _, lp = f[4].rpartition(":")
                    ra, _, rp = f[5].rpartition(":")
                    want.add((f[0], norm_addr(la), int(lp), norm_addr(ra),
                              0 if rp == "*" else int(rp), f[1]))
                elif f and len(f) >= 5 and f[0] not in ("tcp", "udp"):
                    # ss prints no Netid column when one protocol is asked for
                    la, _, lp = f[3].rpartition(":")
                    ra, _, rp = f[4].rpartition(":")
                    want.add((proto[0][1:].replace("t", "tcp").replace("u", "udp"),
                              norm_addr(la), int(lp), norm_addr(ra),
                              0 if rp == "*" else int(rp), f[0]))
            assert got == want, (ours, got ^ want)
        elif "--state" in ours:
            states = {"time-wait": {"TIME-WAIT"}, "listen,close-wait": {"LISTEN", "CLOSE-WAIT"}}
            want = {t for t in ss_set(zoo) if t[5] in states[ours[ours.index("--state") + 1]]}
            assert got == want and got, ours
        else:
            want = {t for t in pk_set(every)
                    if t[1].replace("::ffff:", "").startswith("127.") and 1 <= t[4] <= 1023}
            assert got == want


def test_owners_name_the_right_pid(zoo):
    pid = zoo.info["pid"]
    recs = pk_json(zoo, "-a", "-p")
    # TIME-WAIT and orphaned FIN-WAIT sockets belong to no file any more
    with_inode = [r for r in recs if r["inode"]]
    assert len(with_inode) >= 10
    for r in with_inode:
        assert [o["pid"] for o in r["owners"]] == [pid], r
        assert r["owners"][0]["comm"].startswith("python")
        assert r["owners"][0]["user"] == "root"
    tw = [r for r in recs if r["state"] == "TIME-WAIT"]
    assert tw and all(r["owners"] == [] and r["inode"] == 0 for r in tw)
    # --pid and --process filters, and a pid that holds nothing
    assert pk_set(pk_json(zoo, "-a", "--pid", pid)) == pk_set(with_inode)
    assert pk_json(zoo, "-a", "--pid", "1") == []
    assert len(pk_json(zoo, "-a", "--process", recs[0]["owners"][0]["comm"])) == len(with_inode)


def test_shared_socket_lists_every_holder():
    with Netns() as ns:
        code = ("import os,socket,select,sys\n"
                "s=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n"
                "pid=os.fork()\n"
                "if pid==0:\n select.select([sys.stdin],[],[],60);os._exit(0)\n"
                "print(s.getsockname()[1],os.getpid(),pid,flush=True)\n"
                "select.select([sys.stdin],[],[],60)\n")
        p = ns.spawn(PY, "-c", code)
        port, parent, child = map(int, p.stdout.readline().split())
        recs = pk_json(ns, "-lt", "-p")
        assert len(recs) == 1
        assert sorted(o["pid"] for o in recs[0]["owners"]) == sorted([parent, child])
        # a narrow query stops once every socket has an owner (documented)
        recs = pk_json(ns, "-l", "-p", "--port", port)
        assert len(recs) == 1 and recs[0]["owners"][0]["pid"] in (parent, child)
        r = ns.run(BIN, "who", port, "--json")
        assert r.returncode == 0
        rec = json.loads(r.stdout.splitlines()[0])
        assert sorted(o["pid"] for o in rec["owners"]) == sorted([parent, child])
        assert rec["cmdline"].startswith(PY)


def test_who(zoo):
    l4 = zoo.info["tcp_listen"][0]
    r = zoo.run(BIN, "who", l4, "--json")
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in r.stdout.splitlines()]
    states = sorted(x["state"] for x in recs)
    assert "LISTEN" in states and "ESTAB" in states and "TIME-WAIT" in states
    lst = [x for x in recs if x["state"] == "LISTEN"][0]
    assert lst["owners"][0]["pid"] == zoo.info["pid"]
    assert "sockets.py" in lst["cmdline"]
    assert "unit" in lst and "container" in lst
    text = zoo.run(BIN, "who", l4)
    assert str(zoo.info["pid"]) in text.stdout and "LISTEN" in text.stdout
    # nobody holds it: exit 1, nothing printed
    r = zoo.run(BIN, "who", "1", "--json")
    assert r.returncode == 1 and r.stdout == ""


def test_netns_option_reads_another_namespace(zoo):
    r = subprocess.run([BIN, "ls", "-a", "--json", "--netns", zoo.name],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in r.stdout.splitlines()]
    assert pk_set(recs) == ss_set(zoo)
    assert all(x["netns"] == zoo.name for x in recs)
    r = subprocess.run([BIN, "ls", "-a", "--json", "--netns", "all"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    mine = {(x["local_port"], x["state"]) for x in
            (json.loads(l) for l in r.stdout.splitlines()) if x.get("netns") == zoo.name}
    assert mine == {(t[2], t[5]) for t in ss_set(zoo)}


def test_service_is_the_server_side(zoo):
    recs = pk_json(zoo, "-t")
    l4 = zoo.info["tcp_listen"][0]
    for r in recs:
        if r["state"] != "ESTAB":
            continue
        if r["local_port"] in zoo.info["tcp_listen"]:
            assert r["server_side"] == "local"
        else:
            assert r["server_side"] == "remote"
    lst = pk_json(zoo, "-l", "--port", "22")
    assert lst == []
    assert all(r["local_category"] in ("registered", "dynamic", "well-known") for r in recs)
    assert l4


def test_by_remote_and_summary(zoo):
    l4 = zoo.info["tcp_listen"][0]
    r = zoo.run(BIN, "ls", "-t", "--by", "remote", "--json")
    groups = [json.loads(l) for l in r.stdout.splitlines()]
    g = [x for x in groups if x["remote_port"] == l4 and x["remote_addr"] == "127.0.0.1"]
    assert g and g[0]["sessions"] == len(g[0]["local_ports"]) >= 2
    assert len({p["port"] for p in g[0]["local_ports"]}) == g[0]["sessions"]
    r = zoo.run(BIN, "ls", "--summary", "--json")
    recs = [json.loads(l) for l in r.stdout.splitlines()]
    counts = {(x["proto"], x["state"]): x["count"] for x in recs if x["kind"] == "state"}
    ss_counts = {}
    for t in ss_set(zoo):
        ss_counts[(t[0], t[5])] = ss_counts.get((t[0], t[5]), 0) + 1
    assert counts == ss_counts
    text = zoo.run(BIN, "ls", "--summary").stdout
    assert "TCP:" in text and "Ephemeral range" in text


def test_watch_sees_open_and_close():
    with Netns() as ns:
        code = ("import socket,time,sys\n"
                "s=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n"
                "print(s.getsockname()[1],flush=True)\n"
                "time.sleep(1.5)\n"
                "c=socket.create_connection(s.getsockname());a,_=s.accept()\n"
                "time.sleep(2);c.close();a.close();time.sleep(3)\n")
        p = ns.spawn(PY, "-c", code)
        port = int(p.stdout.readline())
        # --count counts events: two opens, then the close of one end and the
        # other's state (the two close() calls fall in one interval)
        r = ns.run(BIN, "ls", "-t", "--watch", "1", "--count", "4", "--json",
                   "--port", port, timeout=30)
        assert r.returncode == 0, r.stderr
        ev = [json.loads(l) for l in r.stdout.splitlines()]
        kinds = [(e["event"], e["state"]) for e in ev]
        # one time format across commands: RFC 3339 UTC with milliseconds
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["time"]) for e in ev)
        assert kinds.count(("open", "ESTAB")) == 2
        assert any(k == "close" for k, _ in kinds)


def waiting_in_its_loop(pid, timeout=20):
    """Until portkit (after ip netns exec's exec) waits in its event loop:
    --watch takes its first snapshot before it first waits there."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if (os.readlink(f"/proc/{pid}/exe") == os.path.realpath(BIN)
                    and open(f"/proc/{pid}/wchan").read() == "do_epoll_wait"):
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise AssertionError("portkit never waited in its event loop")


# Listens and prints its port; a newline on stdin connects to itself (and
# prints "connected"), the next one ends it.
CONNECT_ON_NEWLINE = ("import socket,sys\n"
                      "s=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n"
                      "print(s.getsockname()[1],flush=True)\n"
                      "sys.stdin.readline()\n"
                      "c=socket.create_connection(s.getsockname());a,_=s.accept()\n"
                      "print('connected',flush=True)\n"
                      "sys.stdin.readline()\n")


def test_watch_count_counts_events():
    """--count N: N events, as nat --watch --count and capture -c count, then
    the end (not N intervals: while nothing happens, it waits)."""
    with Netns() as ns:
        p = ns.spawn(PY, "-c", CONNECT_ON_NEWLINE)
        port = p.stdout.readline().strip()
        w = subprocess.Popen(ns.cmd(BIN, "ls", "-t", "--watch", "0.1", "--count", "1", "--port",
                                    port), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        timer = threading.Timer(30, w.kill)      # bounded, whatever happens
        timer.start()
        try:
            # the first snapshot is taken (without the session): then connect
            assert w.stderr.readline().startswith("portkit: watching 0 sessions")
            p.stdin.write("\n")
            p.stdin.flush()
            assert p.stdout.readline() == "connected\n"
            out, err = w.communicate(timeout=20)
        finally:
            timer.cancel()
            p.stdin.write("\n")
            p.stdin.flush()
        assert w.returncode == 0, err
        # both ends open in one snapshot; the count stops after the first
        lines = out.splitlines()
        assert len(lines) == 1 and lines[0].split()[1] == "open", out


@pytest.mark.parametrize("sig,fmt", [(signal.SIGTERM, "text"), (signal.SIGINT, "json"),
                                     (signal.SIGTERM, "json"), (signal.SIGINT, "text")])
def test_watch_ends_cleanly_on_a_signal(sig, fmt):
    """--watch runs until stopped: SIGTERM or SIGINT ends it with status 0, every event
    seen before written whole, nothing on stderr but the text mode's first line."""
    with Netns() as ns:
        p = ns.spawn(PY, "-c", CONNECT_ON_NEWLINE)
        port = p.stdout.readline().strip()
        args = [BIN, "ls", "-t", "--watch", "0.1", "--port", port] + (["--json"] * (fmt == "json"))
        w = subprocess.Popen(ns.cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        timer = threading.Timer(30, w.kill)      # bounded, whatever happens
        timer.start()
        try:
            if fmt == "text":
                assert w.stderr.readline() == ("portkit: watching 0 sessions every 100 ms; "
                                               "Ctrl-C stops\n")
            else:
                waiting_in_its_loop(w.pid)  # the first snapshot taken, without the session
            p.stdin.write("\n")
            p.stdin.flush()
            assert p.stdout.readline() == "connected\n"
            seen = [w.stdout.readline(), w.stdout.readline()]   # both ends open
            w.send_signal(sig)
            out, err = w.communicate(timeout=10)
        finally:
            timer.cancel()
        assert w.returncode == 0, err
        assert err == ""
        lines = (("".join(seen)) + out).splitlines(keepends=True)
        assert all(l.endswith("\n") for l in lines)
        if fmt == "json":
            ev = [json.loads(l) for l in lines]
            opens = [e for e in ev if e["event"] == "open"]
            assert [e["state"] for e in opens] == ["ESTAB", "ESTAB"]
        else:
            opens = [l for l in lines if l.split()[1] == "open"]
            assert len(opens) == 2 and all(l.split()[3] == "ESTAB" for l in opens), lines


def test_errors(pk):
    cases = [
        (["ls", "--state", "bogus"], "unknown state 'bogus'"),
        (["ls", "10.0.0.0/99"], "invalid CIDR '10.0.0.0/99'"),
        (["ls", "--port", "70000"], "invalid port '70000': must be 0-65535"),
        (["ls", "--netns", "no-such-ns-xyz"], "cannot open network namespace 'no-such-ns-xyz'"),
        (["ls", "--by", "color"], "invalid --by 'color'"),
        (["ls", "--user", "no-such-user-xyz"], "unknown user 'no-such-user-xyz'"),
        (["ls", "--watch", "--count", "0"], "invalid count '0'"),
        (["who"], "which port?"),
        (["who", "70000"], "invalid port '70000': must be 0-65535"),
        (["who", "22", "--proto", "sctp"], "invalid protocol 'sctp'"),
        (["ls", "not-an-address"], "invalid address 'not-an-address'"),
    ]
    for args, msg in cases:
        r = pk(*args)
        assert r.rc == 2, (args, r.err)
        assert r.out == ""
        lines = r.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("portkit: ") and msg in lines[0], (args, r.err)


def test_owners_without_root_says_so_once():
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to another user")
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BIN, "ls", "-a", "-p"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if r.returncode == 126 or "Permission denied" in r.stderr:
        pytest.skip("the binary is not reachable by nobody here")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "owners may be missing" in lines[0]

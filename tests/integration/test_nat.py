"""portkit nat beside conntrack-tools, on the lab's router.

The lab (its own name per run) gives client - router - server: pc2 opens a
TCP connection to www (masqueraded), remote one to the router's 8080
(forwarded to server1:80), pc1 asks www's DNS over UDP. Then the router's
table as portkit nat --json sees it must equal conntrack -L -o extended's,
entry for entry (tuples, protocol, state, translation).
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BIN, run
from netns import need_root

PY = sys.executable
HOLD = ("import socket,sys\n"
        "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=10)\n"
        "print(s.getsockname()[1],flush=True); sys.stdin.read()\n")
QUERY = ("import socket\n"
         "u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.settimeout(5)\n"
         "u.sendto(bytes.fromhex('706b01000001000000000000037777770000010001'),('198.19.2.10',53))\n"
         "u.recvfrom(512); print(u.getsockname()[1])\n")


@pytest.fixture(scope="module")
def router():
    need_root()
    if not shutil.which("conntrack"):
        pytest.skip("conntrack-tools is not installed")
    name = f"n{os.getpid() % 10000000}"
    holders = []
    try:
        r = run("lab", "--name", name, "up")
        assert r.rc == 0, r.err
        for node, addr, port in (("pc2", "198.19.2.10", 80), ("remote", "198.19.0.2", 8080)):
            p = subprocess.Popen([BIN, "lab", "--name", name, "exec", node, "--", PY, "-c", HOLD,
                                  addr, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)
            holders.append(p)
            assert p.stdout.readline().strip().isdigit()
        q = run("lab", "--name", name, "exec", "pc1", "--", PY, "-c", QUERY)
        assert q.rc == 0, q.err
        yield name
    finally:
        for p in holders:
            p.kill()
            p.wait()
        run("lab", "--name", name, "down")


LS_SPELLING = {"ESTABLISHED": "ESTAB", "FIN_WAIT": "FIN-WAIT"}


def conntrack_entries(name):
    out = subprocess.run(["ip", "netns", "exec", f"{name}-router", "conntrack", "-L", "-o",
                          "extended"], capture_output=True, text=True, timeout=30).stdout
    got = set()
    for line in out.splitlines():
        f = line.split()
        proto = f[2]
        kv = re.findall(r"(src|dst|sport|dport)=(\S+)", line)
        orig, reply = dict(kv[:4]), dict(kv[4:8])
        # portkit spells TCP states as ls does (CLI.md): ESTAB, TIME-WAIT
        state = LS_SPELLING.get(f[5], f[5].replace("_", "-")) if proto == "tcp" else None
        nat = ("snat" if orig["src"] != reply["dst"] or orig.get("sport") != reply.get("dport")
               else None)
        if orig["dst"] != reply["src"] or orig.get("dport") != reply.get("sport"):
            nat = "both" if nat else "dnat"
        got.add((proto, state, orig["src"], orig.get("sport"), orig["dst"], orig.get("dport"),
                 reply["src"], reply.get("sport"), reply["dst"], reply.get("dport"), nat))
    return got


def portkit_entries(name):
    r = run("nat", "--json", "--netns", f"{name}-router")
    assert r.rc == 0, r.err
    return {(x["proto"], x["state"], x["orig_src_addr"], str(x["orig_src_port"]),
             x["orig_dst_addr"], str(x["orig_dst_port"]), x["reply_src_addr"],
             str(x["reply_src_port"]), x["reply_dst_addr"], str(x["reply_dst_port"]),
             x["translation"]) for x in r.json()}, r.json()


def test_nat_equals_conntrack_entry_for_entry(router):
    mine, recs = portkit_entries(router)
    theirs = conntrack_entries(router)
    assert mine == theirs
    # the three sessions the test made, with their translations
    tr = {(x["proto"], x["orig_dst_port"], x["translation"]) for x in recs}
    assert {("tcp", 80, "snat"), ("tcp", 8080, "dnat"), ("udp", 53, "snat")} <= tr
    keys = set(recs[0])
    assert all(set(x) == keys for x in recs)


def test_text_spells_out_the_translation(router):
    r = run("nat", "--netns", f"{router}-router", "-t")
    assert r.rc == 0, r.err
    fwd = [line for line in r.out.splitlines() if "-> 198.19.0.2:8080" in line][0]
    assert "forwarded to 198.18.10.10:80 (port forward)" in fwd and " ESTAB " in fwd
    out = [line for line in r.out.splitlines() if "-> 198.19.2.10:80" in line][0]
    assert out.split()[2].startswith("198.18.10.12:") and "leaves as 198.19.0.2:" in out
    dn = run("nat", "--netns", f"{router}-router", "--dnat", "--json").json()
    assert [x["reply_src_addr"] for x in dn] == ["198.18.10.10"]
    assert dn[0]["service"] == "http" and dn[0]["common_name"] == "HTTP"


def test_summary(router):
    r = run("nat", "--netns", f"{router}-router", "--summary")
    assert r.rc == 0, r.err
    assert "forwarded port 8080/tcp: 1 session" in r.out
    assert re.search(r"table: \d+ of \d+ entries", r.out)


@pytest.mark.parametrize("args,msg", [
    (["nat", "--state", "bogus"], "unknown state 'bogus'"),
    (["nat", "--summary", "--json"], "--summary is a text report"),
    (["nat", "x"], "unexpected 'x'"),
    (["nat", "--port", "70000"], "invalid port '70000'"),
])
def test_usage_errors(args, msg):
    r = run(*args)
    assert r.rc == 2 and msg in r.err and len(r.err.splitlines()) == 1, r.err


def test_watch_reports_new_and_destroyed_sessions(router):
    import threading
    w = subprocess.Popen([BIN, "nat", "--watch", "--json", "-u", "--port", "53", "--netns",
                          f"{router}-router"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    timer = threading.Timer(30, w.kill)      # bounded, whatever happens
    timer.start()
    try:
        assert w.stderr.readline().startswith("portkit: following the conntrack table")
        q = run("lab", "--name", router, "exec", "pc1", "--", PY, "-c", QUERY)
        assert q.rc == 0, q.err
        port = int(q.out)
        subprocess.run(["ip", "netns", "exec", f"{router}-router", "conntrack", "-D", "-p", "udp",
                        "--orig-port-src", str(port)], capture_output=True, timeout=30)
        events = []
        for line in w.stdout:
            e = json.loads(line)
            if e["orig_src_port"] == port:
                events.append(e["event"])
            if "destroy" in events:
                break
    finally:
        w.terminate()
        w.wait(timeout=10)
        timer.cancel()
    assert events[0] == "new" and events[-1] == "destroy", events
    assert w.returncode == 0


def test_netns_all_reads_every_namespace(router):
    """--netns all: the lab router's sessions among them, each record saying
    its namespace, the same set as --netns ROUTER gives."""
    r = run("nat", "--json", "--netns", "all")
    assert r.rc == 0, r.err
    recs = r.json()
    mine = [x for x in recs if x["netns"] == f"{router}-router"]
    one = run("nat", "--json", "--netns", f"{router}-router").json()
    key = lambda x: tuple(sorted((k, str(v)) for k, v in x.items() if k not in ("timeout",)))
    assert sorted(map(key, mine)) == sorted(map(key, one)) and mine
    t = run("nat", "--netns", "all")
    assert t.rc == 0 and t.out.splitlines()[0].split()[-1] == "NETNS"
    assert f"{router}-router" in t.out
    s = run("nat", "--summary", "--netns", "all")
    assert s.rc == 0 and "tracked session" in s.out
    w = run("nat", "--watch", "--netns", "all")
    assert w.rc == 2 and "one namespace" in w.err

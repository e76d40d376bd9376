"""portkit lab: the article's office network, built, used and taken down.

The lab gets a name of its own per test run (its namespaces are NAME-NODE),
so two runs never meet; every lab is taken down by a finalizer whatever
happens, and the last test checks that down leaves nothing behind, also
after a responder was killed with SIGKILL.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import BIN, run
from netns import need_root

PY = sys.executable
ROUTER_WAN, SERVER1, REMOTE = "198.19.0.2", "198.18.10.10", "198.19.1.10"


def lab(name, *args, timeout=60):
    return run("lab", "--name", name, *args, timeout=timeout)


def in_node(name, node, *cmd, timeout=120):
    r = lab(name, "exec", node, "--", *cmd, timeout=timeout)
    assert r.rc == 0, (cmd, r.err)
    return r.out


FETCH = ("import sys, urllib.request\n"
         "print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())\n")


@pytest.fixture(scope="module")
def office():
    need_root()
    name = f"t{os.getpid() % 10000000}"
    try:
        r = lab(name, "up", "--json")
        assert r.rc == 0, r.err
        yield name, {x["node"]: x for x in r.json()}
    finally:
        lab(name, "down")


def test_status_says_what_was_built(office):
    name, nodes = office
    assert set(nodes) == {"router", "server1", "pc1", "pc2", "pc3", "internet", "remote", "www"}
    r = nodes["router"]
    assert (r["role"], r["lan_addr"], r["wan_addr"]) == ("router", "198.18.10.1", ROUTER_WAN)
    assert r["forwards"] == ["tcp 8080 -> 198.18.10.10:80", "tcp 3390 -> 198.18.10.10:3389"]
    assert nodes["server1"]["addrs"] == [SERVER1]
    assert nodes["server1"]["services"] == "http http:83 ftp dns rdp rdp:3350 smb"
    keys = set(nodes["router"])
    assert all(set(x) == keys for x in nodes.values())
    again = lab(name, "status", "--json")
    assert again.rc == 0 and {x["node"] for x in again.json()} == set(nodes)


def test_names_resolve_inside_the_lab(office):
    name, _ = office
    out = in_node(name, "pc1", PY, "-c", "import socket; print(socket.gethostbyname('server1'),"
                  " socket.gethostbyname('router-wan'), socket.gethostbyname('www.lab'))")
    assert out.split() == [SERVER1, ROUTER_WAN, "198.19.2.10"]


def test_the_internet_sees_only_the_forwards(office):
    name, _ = office
    out = in_node(name, "remote", BIN, "scan", ROUTER_WAN, "-p-", "-Pn", "--json")
    recs = [json.loads(line) for line in out.splitlines()]
    assert sorted(x["port"] for x in recs if x.get("state") == "open") == [3390, 8080]


def test_nat_shows_the_lan_as_the_router(office):
    name, _ = office
    page = in_node(name, "pc2", PY, "-c", FETCH, "http://www/")
    assert f"came from <b>{ROUTER_WAN}:" in page and "198.18.10.12" not in page


def test_forward_reaches_server1_with_the_real_client(office):
    name, _ = office
    page = in_node(name, "remote", PY, "-c", FETCH, f"http://{ROUTER_WAN}:8080/")
    assert f"listens on <b>{SERVER1}:80</b>" in page and f"came from <b>{REMOTE}:" in page


def test_scan_sv_from_pc1_names_the_servers_services(office):
    name, _ = office
    out = in_node(name, "pc1", BIN, "scan", "server1", "-p", "21,53,80,83,445,3350,3389",
                  "--sv", "--json")
    got = {x["port"]: x["service"] for x in map(json.loads, out.splitlines()) if "port" in x}
    assert got == {21: "ftp", 53: "dns", 80: "http", 83: "http", 445: "smb", 3350: "rdp",
                   3389: "rdp"}


@pytest.mark.skipif(not shutil.which("nmap"), reason="nmap is not installed")
def test_nmap_from_pc1_names_them_too(office):
    name, _ = office
    out = in_node(name, "pc1", "nmap", "-n", "-Pn", "-sV", "-p", "21,53,80,445,3350,3389",
                  "-oX", "-", SERVER1, timeout=600)
    import xml.etree.ElementTree as ET
    named = {int(p.get("portid")): (p.find("service").get("name"), p.find("service").get("method"))
             for p in ET.fromstring(out).iter("port")}
    assert named == {21: ("ftp", "probed"), 53: ("domain", "probed"), 80: ("http", "probed"),
                     445: ("microsoft-ds", "probed"), 3350: ("ms-wbt-server", "probed"),
                     3389: ("ms-wbt-server", "probed")}


def test_tour_runs_every_step(office):
    name, _ = office
    r = lab(name, "tour", timeout=300)
    assert r.rc == 0, r.err
    steps = r.out.split("[step ")[1:]
    assert len(steps) == 6 and all(s.split("]")[0].endswith(" of 6") for s in steps)
    browse, dns, rdp, fwd, internet, audit = steps
    # each end of the one session, mirrored
    assert "198.18.10.10:80" in browse and "198.18.10.12:" in browse
    # the switch port saw the question and the answer
    assert "DNS A? www.lab." in dns and "-> 198.19.2.10" in dns
    assert "3389/tcp  open   rdp" in rdp and "3350/tcp  open   rdp" in rdp
    # through the forward, server1 sees the remote user's real address
    assert f"{REMOTE}:" in fwd.split("portkit ls -t --sport 80")[1]
    assert "forwarded to 198.18.10.10:80 (port forward)" in fwd     # the router's table
    assert f"leaves as {ROUTER_WAN}:" in internet
    assert "2 open, 0 closed, 65534 filtered" in internet
    assert f"{ROUTER_WAN}:" in internet.split("portkit ls -t --sport 80")[1]
    assert "cleartext-login" in audit
    one = lab(name, "tour", "--step", "2", timeout=60)
    assert one.rc == 0 and one.out.count("[step ") == 1 and "DNS A? www.lab." in one.out


def test_one_lab_of_a_name(office):
    name, _ = office
    r = lab(name, "up")
    assert r.rc == 2 and f"lab '{name}' is up already" in r.err


@pytest.mark.parametrize("text,msg", [
    ("segment lan 10.0.0.0/24\n", "t.conf:1: segment 'lan' is outside 198.18.0.0/15"),
    ("segment lan 198.18.1.0/24\n\nnode a pc lan=198.18.2.1\n", "t.conf:3: address '198.18.2.1' is not in its segment"),
    ("segment lan 198.18.1.0/24\nnode a pc wan=198.18.1.2\n", "t.conf:2: unknown segment 'wan'"),
    ("segment lan 198.18.1.0/24\nnode a laptop lan=198.18.1.2\n", "t.conf:2: unknown role 'laptop'"),
    ("segment lan 198.18.1.0/24\nnode a pc lan=198.18.1.2\nforward a tcp 80 198.18.1.2:80\n",
     "node 'a' forwards ports but has no 'nat'"),
    ("bridge x\n", "t.conf:1: unknown statement 'bridge'"),
])
def test_topology_errors_name_the_line(tmp_path, text, msg):
    need_root()
    f = tmp_path / "t.conf"
    f.write_text(text)
    r = run("lab", "--name", "terr", "up", str(f))
    assert r.rc == 2 and msg in r.err and len(r.err.splitlines()) == 1, r.err
    assert not os.path.exists("/run/portkit/lab/terr")


def test_down_leaves_nothing_even_after_kill_9():
    need_root()
    name = f"d{os.getpid() % 10000000}"
    try:
        assert lab(name, "up").rc == 0
        pids = [int(line.split()[0]) for line in open(f"/run/portkit/lab/{name}/pids")]
        os.kill(pids[0], signal.SIGKILL)
        sleeper = subprocess.Popen([BIN, "lab", "--name", name, "exec", "pc1", "--", "sleep", "300"])
        # down must find it inside the lab: wait until it is in pc1's namespace
        pc1 = os.stat(f"/run/netns/{name}-pc1").st_ino
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                if os.stat(f"/proc/{sleeper.pid}/ns/net").st_ino == pc1:
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        r = lab(name, "down")
        assert r.rc == 0, r.err
        sleeper.wait(timeout=10)
    finally:
        lab(name, "down")
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [line for line in left.splitlines() if line.startswith(f"{name}-")]
    assert not os.path.exists(f"/run/portkit/lab/{name}")
    assert not any(d.startswith(f"{name}-") for d in os.listdir("/etc/netns")) \
        if os.path.isdir("/etc/netns") else True
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    again = lab(name, "down")
    assert again.rc == 0 and f"no lab '{name}' was up" in again.err


def test_needs_root_says_so():
    if os.geteuid() == 0:
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", BIN,
                            "lab", "up"], capture_output=True, text=True, timeout=30)
    else:
        r = subprocess.run([BIN, "lab", "up"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stderr.strip() == "portkit: lab needs root: it makes network namespaces"

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
    assert got == {21: "ftp", 53: "domain", 80: "http", 83: "http", 445: "smb", 3350: "rdp",
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


@pytest.fixture(scope="module")
def tour(office):
    """The whole tour, run once: its steps' texts by number (1-based)."""
    name, _ = office
    r = lab(name, "tour", timeout=300)
    assert r.rc == 0, r.err
    steps = r.out.split("[step ")[1:]
    return {int(s.split(" of ")[0]): s for s in steps}


def ephemeral_range(name, node):
    lo, hi = in_node(name, node, "cat", "/proc/sys/net/ipv4/ip_local_port_range").split()
    return int(lo), int(hi)


def test_tour_runs_every_step(office, tour):
    name, _ = office
    assert sorted(tour) == list(range(1, 11))
    assert all(s.split("]")[0].endswith(" of 10") for s in tour.values())
    browse, dns, rdp, fwd, internet, audit = (tour[i] for i in (1, 5, 6, 8, 9, 10))
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
    # the commands as the reader types them, for this lab's name
    assert f"$ portkit lab --name {name} exec pc2 -- portkit ls -t --dport 80" in browse
    one = lab(name, "tour", "--step", "5", timeout=60)
    assert one.rc == 0 and one.out.count("[step ") == 1 and "DNS A? www.lab." in one.out
    assert lab(name, "tour", "--step", "11").rc == 2


def test_tour_step1_teaches_the_real_ephemeral_range(office, tour):
    """The client's port as the kernel picked it, the node's own range, IANA's
    suggestion beside it, and the category portkit port gives that port."""
    name, _ = office
    browse = tour[1]
    port = int(browse.split("198.18.10.12:")[1].split()[0])
    lo, hi = ephemeral_range(name, "pc2")
    info = json.loads(run("port", str(port), "--json").out.splitlines()[0])
    assert lo <= port <= hi
    notice = " ".join(browse.split("What to notice:")[1].split())
    assert f"the local port is {port}" in notice
    assert f"pc2's ephemeral range, {lo}-{hi}" in notice
    assert "49152-65535" in notice
    assert f"{port} falls in IANA's {info['category']} category" in notice
    assert f"portkit port {port}" in browse and "ephemeral here" in browse
    assert "marked by the dynamic category" not in browse


def test_tour_nat_step_shows_the_router_changing_a_port(office, tour):
    """pc1 and pc2 leave from the same source port: www sees one of them with
    40000 kept and the other with the port the router chose, and the tour
    names both, as the router's table has them."""
    internet = tour[9]
    www = internet.split("portkit ls -t --sport 80")[1].split("$ ")[0]
    seen = sorted(int(x.split(":")[1]) for x in www.split() if x.startswith(f"{ROUTER_WAN}:"))
    assert len(seen) == 2 and 40000 in seen, www
    other = [p for p in seen if p != 40000][0]
    assert f"198.18.10.11:40000 left as {ROUTER_WAN}:40000 (kept: the port was free)" in internet
    assert (f"198.18.10.12:40000 left as {ROUTER_WAN}:{other} (changed: that port was taken)"
            in internet)
    assert f"leaves as {ROUTER_WAN}:{other} (source NAT)" in internet      # nat's own line
    assert "a port the router chose" not in internet


def test_tour_new_steps(office, tour):
    name, _ = office
    two, share, cats, refused = tour[2], tour[3], tour[4], tour[7]
    # two sessions from pc2 to server1:80, told apart by the client's port
    ports = sorted({int(x.split(":")[1]) for x in two.split() if x.startswith("198.18.10.12:")})
    assert len(ports) == 2 and "--by remote" in two
    assert f"{ports[0]} {ports[1]}" in two or f"{ports[1]} {ports[0]}" in two  # ls --by remote
    # pc1 opens pc3's share: both ends of 445
    assert "198.18.10.13:445" in share and "198.18.10.11:" in share and "SMB" in share
    assert f"exec pc3 -- portkit ls -t --sport 445" in share
    # the categories, as portkit port says them
    rows = {line.split()[0]: line for line in cats.splitlines() if line[:1].isdigit()}
    assert "well-known" in rows["80/tcp"] and "well-known" in rows["445/tcp"]
    assert "registered" in rows["3389/tcp"] and "dynamic" in rows["50000"]
    lo, hi = ephemeral_range(name, "pc1")
    assert f"from {lo}-{hi}" in " ".join(cats.split())
    # nothing listens on 8083: refused, closed by a reset; 83 answers
    assert "connect to 198.18.10.10:8083: Connection refused" in refused
    assert "8083/tcp  closed" in refused and "reset" in refused
    assert "83/tcp    open" in refused


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
    # a segment's network and broadcast addresses are no host's
    ("segment lan 198.18.1.0/24\nnode a pc lan=198.18.1.0\n",
     "t.conf:2: address '198.18.1.0' is the network address of segment 'lan'"),
    ("segment lan 198.18.1.0/24\nnode a pc lan=198.18.1.255\n",
     "t.conf:2: address '198.18.1.255' is the broadcast address of segment 'lan'"),
    # serve words: their shape at parse time, the responders by serve itself,
    # both before anything is built
    ("segment lan 198.18.1.0/24\nnode a pc lan=198.18.1.2 serve http:99999\n",
     "t.conf:2: invalid port '99999': must be 1-65535"),
    ("segment lan 198.18.1.0/24\nnode a pc lan=198.18.1.2\n\nnode b pc lan=198.18.1.3 serve http "
     "nosuchproto\n", "t.conf:4: unknown responder 'nosuchproto'"),
])
def test_topology_errors_name_the_line(tmp_path, text, msg):
    need_root()
    f = tmp_path / "t.conf"
    f.write_text(text)
    try:
        for args in (["up", "--print", str(f)], ["up", str(f)]):
            r = run("lab", "--name", "terr", *args)
            assert r.rc == 2 and msg in r.err and len(r.err.splitlines()) == 1, (args, r.err)
            assert not os.path.exists("/run/portkit/lab/terr")
    finally:
        lab("terr", "down")         # only if a wrong build made it


def test_exec_runs_portkit_without_it_installed(office):
    name, _ = office
    path = "/usr/sbin:/usr/bin:/sbin:/bin"
    assert not shutil.which("portkit", path=path)
    r = run("lab", "--name", name, "exec", "pc1", "--", "portkit", "port", "3389", "--json",
            env={"PATH": path})
    assert r.rc == 0, r.err
    assert json.loads(r.out.splitlines()[0])["common_name"] == "RDP"
    # the hint names this lab
    r = run("lab", "--name", name, "exec", "nosuch", "--", "true")
    assert r.rc == 2 and f"see 'portkit lab --name {name} status'" in r.err


def test_status_says_a_dead_responder_is_dead(tmp_path):
    need_root()
    name = f"r{os.getpid() % 10000000}"
    f = tmp_path / "three.conf"
    f.write_text("segment lan 198.18.1.0/24\n"
                 "node a server lan=198.18.1.10 serve echo\n"
                 "node b pc lan=198.18.1.11 serve http\n"
                 "node c pc lan=198.18.1.12\n")

    def responders():
        r = lab(name, "status", "--json")
        assert r.rc == 0, r.err
        return {x["node"]: x["responder"] for x in r.json()}

    try:
        r = lab(name, "up", str(f))
        assert r.rc == 0, r.err
        assert responders() == {"a": "running", "b": "running", "c": None}
        pids = {line.split()[1]: int(line.split()[0]) for line in open(f"/run/portkit/lab/{name}/pids")}
        os.kill(pids["b"], signal.SIGKILL)       # our own lab's responder, by its recorded pid
        end = time.monotonic() + 10              # until the kernel has ended it
        while time.monotonic() < end:
            try:
                if open(f"/proc/{pids['b']}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            except FileNotFoundError:
                break
            time.sleep(0.01)
        assert responders() == {"a": "running", "b": "dead", "c": None}
        text = lab(name, "status").out
        assert "http (dead)" in text and "echo (dead)" not in text
    finally:
        lab(name, "down")


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

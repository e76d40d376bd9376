"""portkit forward --kernel: the rules as nftables DNAT, client - router - server.

Three namespaces made here (client 198.18.8.1, router 198.18.8.2 and
198.18.9.1, server 198.18.9.2 running portkit serve); the forwarder runs on
the router. The server's own log (serve --json) is the judge of who reached
it, and from which address.
"""
import json
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import BIN
from fwdutil import Fwd
from netns import Netns, routed

PY = sys.executable
CONF = ("8080 tcp 198.18.9.2:80\n"
        "5353 udp 198.18.9.2:53\n"
        "9090 tcp 198.18.9.2:80 deny=198.18.8.0/24\n")
FETCH = ("import socket,sys\n"
         "s=socket.socket(); s.settimeout(3)\n"
         "try:\n"
         "  s.connect(('198.18.8.2',int(sys.argv[1]))); s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
         "  print('reply', s.recv(4096).decode().split('\\r\\n')[0], s.getsockname()[1])\n"
         "except OSError as e: print('fail', type(e).__name__)\n")
QUERY = ("import socket\n"
         "u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.settimeout(3)\n"
         "u.sendto(bytes.fromhex('706b010000010000000000000161036c61620000010001'),('198.18.8.2',5353))\n"
         "print(u.recvfrom(512)[0][-4:].hex(), u.getsockname()[1])\n")


def ruleset(ns):
    return ns.run("nft", "list", "ruleset").stdout


@pytest.fixture
def net(tmp_path):
    with routed() as (client, router, server):
        srv = subprocess.Popen(server.cmd(BIN, "serve", "http", "dns", "--json", "--dns",
                                          "a.lab=1.2.3.4"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        server.procs.append(srv)
        assert srv.stderr.readline().startswith("portkit: serving ")
        conf = tmp_path / "k.conf"
        conf.write_text(CONF)
        yield client, router, server, srv, conf


def served(srv):
    srv.send_signal(signal.SIGTERM)
    out, _ = srv.communicate(timeout=30)
    return [json.loads(line) for line in out.splitlines()]


def test_check_changes_nothing(net):
    _, router, _, _, conf = net
    r = router.run(BIN, "forward", "--kernel", "-c", conf, "--check")
    assert r.returncode == 0 and r.stdout == "3 rules OK (kernel, nothing applied)\n", r.stderr
    assert ruleset(router) == ""


def test_kernel_forward_keeps_the_client_address_and_denies(net):
    client, router, _, srv, conf = net
    f = Fwd("--kernel", "-c", conf, "--enable-forwarding", prefix=router.cmd())
    try:
        f.wait_for(" listening ", count=3)
        tcp = client.run(PY, "-c", FETCH, "8080").stdout.split()
        udp = client.run(PY, "-c", QUERY).stdout.split()
        denied = client.run(PY, "-c", FETCH, "9090").stdout.split()
        nat = json.loads("[" + ",".join(router.run(BIN, "nat", "--json", "--dnat").stdout
                                        .splitlines()) + "]")
    finally:
        log = f.stop()
    assert tcp[:3] == ["reply", "HTTP/1.1", "200"] and udp[0] == "01020304"
    assert denied == ["fail", "TimeoutError"]       # dropped in the kernel, never reset
    seen = served(srv)
    # the server saw the client itself, from the ports the client used
    assert {(x["proto"], x["client_addr"], x["client_port"]) for x in seen} == \
        {("tcp", "198.18.8.1", int(tcp[-1])), ("udp", "198.18.8.1", int(udp[1]))}
    assert {(x["proto"], x["orig_dst_port"], x["reply_src_addr"], x["reply_src_port"])
            for x in nat} >= {("tcp", 8080, "198.18.9.2", 80), ("udp", 5353, "198.18.9.2", 53)}
    assert "forwarding-on" in log and "the kernel rules are removed" in log
    assert ruleset(router) == ""                    # SIGTERM took the rules away


def test_two_instances_and_remove_after_kill_9(net):
    client, router, _, _, conf = net
    a = Fwd("--kernel", "-c", conf, "--enable-forwarding", prefix=router.cmd())
    b = Fwd("--kernel", "7070", "198.18.9.2:80", prefix=router.cmd())
    try:
        a.wait_for(" listening ", count=3)
        b.wait_for(" listening ")
        assert f"fwd{a.p.pid}_pre" in ruleset(router) and f"fwd{b.p.pid}_pre" in ruleset(router)
        a.p.kill()                                   # no chance to clean up
        a.p.wait(timeout=10)
        r = router.run(BIN, "forward", "--remove")
        assert r.returncode == 0 and "of 1 forwarder" in r.stdout, (r.stdout, r.stderr)
        rules = ruleset(router)
        assert f"fwd{a.p.pid}_" not in rules and f"fwd{b.p.pid}_pre" in rules
        # the other instance still forwards
        assert client.run(PY, "-c", FETCH, "7070").stdout.startswith("reply HTTP/1.1 200")
    finally:
        b.stop()
    assert ruleset(router) == ""                     # the last one takes the table too


def test_kernel_refuses_what_it_cannot_do(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text("8080 tcp 198.18.9.2:80 proxy=v1\n")
    r = subprocess.run([BIN, "forward", "--kernel", "-c", str(conf), "--check"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "no PROXY header" in r.stderr
    r = subprocess.run([BIN, "forward", "--kernel", "8080", "198.18.9.2:80", "--workers", "2"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "for the user-space forwarder" in r.stderr
    r = subprocess.run([BIN, "forward", "--persist", "8080", "198.18.9.2:80"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "go with --kernel" in r.stderr


def test_reload_replaces_the_rules_in_one_step(net):
    client, router, _, _, conf = net
    f = Fwd("--kernel", "-c", conf, "--enable-forwarding", prefix=router.cmd())
    try:
        f.wait_for(" listening ", count=3)
        conf.write_text("8181 tcp 198.18.9.2:80\n")
        f.p.send_signal(signal.SIGHUP)
        f.wait_for(" reloaded ")
        assert client.run(PY, "-c", FETCH, "8181").stdout.startswith("reply HTTP/1.1 200")
        assert client.run(PY, "-c", FETCH, "8080").stdout.split()[0] == "fail"
        conf.write_text("this is no rule\n")
        f.p.send_signal(signal.SIGHUP)
        f.wait_for(" reload-rejected ")
        assert client.run(PY, "-c", FETCH, "8181").stdout.startswith("reply HTTP/1.1 200")
    finally:
        f.stop()
    assert ruleset(router) == ""


def test_persist_prints_what_nft_loads(net):
    _, router, _, _, conf = net
    r = router.run(BIN, "forward", "--kernel", "-c", conf, "--persist")
    try:
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("#!/usr/sbin/nft -f") and "dnat ip to 198.18.9.2:80" in r.stdout
        assert "fwdpersist_pre" in ruleset(router)          # left in place
    finally:
        router.run("nft", "delete", "table", "inet", "portkit")


@pytest.mark.skipif(not shutil.which("conntrack"), reason="conntrack-tools is not installed")
def test_session_log_from_conntrack_events(net):
    client, router, _, _, conf = net
    f = Fwd("--kernel", "-c", conf, "--enable-forwarding", "--json", prefix=router.cmd())
    try:
        f.wait_for('"event":"listening"', count=3)
        port = int(client.run(PY, "-c", FETCH, "8080").stdout.split()[-1])
        # conntrack would keep it two minutes in TIME_WAIT: end it now
        router.run("conntrack", "-D", "-p", "tcp", "--orig-port-src", str(port))
        text = f.wait_for('"close_reason"')
    finally:
        f.stop()
    recs = [json.loads(line) for line in text.splitlines() if '"close_reason"' in line]
    assert len(recs) == 1, text
    r = recs[0]
    assert (r["client_addr"], r["client_port"], r["target_addr"], r["target_port"]) == \
        ("198.18.8.1", port, "198.18.9.2", 80)
    assert r["translation"] == "dnat" and r["close_reason"] == "ended" and r["proto"] == "tcp"
    acct = router.run("sysctl", "-n", "net.netfilter.nf_conntrack_acct").stdout.strip()
    if acct == "0":
        assert r["bytes_in"] is None and r["bytes_out"] is None   # unknown, not 0


def test_hairpin_a_lan_client_through_the_public_address(tmp_path):
    """A PC on the server's own network reaches the server through the router's
    public address: its session is masqueraded (else the server answers it
    directly and the PC drops the reply); an outside client keeps its address."""
    client, router, server, pc = Netns(), Netns(), Netns(), Netns()
    try:
        client.link(router, "198.18.8", 8)
        router.bridge("198.18.9", 9, [(server, 2), (pc, 3)])
        for ns in (server, pc):
            ns.ip("route", "add", "default", "via", "198.18.9.1")
        srv = subprocess.Popen(server.cmd(BIN, "serve", "http", "--json"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        server.procs.append(srv)
        assert srv.stderr.readline().startswith("portkit: serving ")
        f = Fwd("--kernel", "8080", "198.18.9.2:80", "--enable-forwarding", prefix=router.cmd())
        try:
            f.wait_for(" listening ")
            rules = ruleset(router)
            lan = pc.run(PY, "-c", FETCH, "8080").stdout.split()
            out = client.run(PY, "-c", FETCH, "8080").stdout.split()
        finally:
            f.stop()
        seen = served(srv)
    finally:
        for ns in (client, router, server, pc):
            ns.close()
    assert ("ip saddr 198.18.9.0/24 ip daddr 198.18.9.2 tcp dport 80 ct status dnat "
            "ct original proto-dst 8080 counter") in rules
    assert lan[:3] == ["reply", "HTTP/1.1", "200"] and out[:3] == ["reply", "HTTP/1.1", "200"]
    # the PC arrives as the router's LAN address; the outside client as itself
    assert sorted(x["client_addr"] for x in seen) == ["198.18.8.1", "198.18.9.1"]
    assert [x["client_port"] for x in seen if x["client_addr"] == "198.18.8.1"] == [int(out[-1])]


def test_remove_json_prints_one_json_object():
    """forward --remove --json printed text; it prints one JSON object."""
    with Netns() as ns:
        ns.ip("addr", "add", "198.18.9.1/24", "dev", "lo")     # a route to the target
        a = Fwd("--kernel", "7070", "198.18.9.2:80", ns=ns)
        try:
            a.wait_for(" listening ")
            a.p.kill()                               # its rules stay behind
            a.p.wait(timeout=10)
            r = ns.run(BIN, "forward", "--remove", "--json")
            assert r.returncode == 0, r.stderr
            lines = r.stdout.splitlines()
            assert len(lines) == 1 and json.loads(lines[0]) == {"removed": 1}, r.stdout
            r = ns.run(BIN, "forward", "--remove", "--json")
            assert r.returncode == 0 and json.loads(r.stdout) == {"removed": 0}, r.stdout
        finally:
            a.stop()


LOCAL = ("import socket,sys\n"
         "s=socket.socket(); s.settimeout(3)\n"
         "try:\n"
         "  s.connect((sys.argv[1],int(sys.argv[2]))); print('reply', s.recv(100).decode())\n"
         "except OSError as e: print('fail', type(e).__name__)\n")
HELLO = ("import socket\n"
         "s=socket.socket(); s.bind(('198.18.7.1',8081)); s.listen(); print('up',flush=True)\n"
         "while True:\n"
         "  c,_=s.accept(); c.sendall(b'hello'); c.close()\n")


def test_kernel_acl_covers_this_hosts_own_connections():
    """--kernel's allow/deny applied to other hosts only: a process on the
    forwarding host itself got through an allow= that does not name it,
    which the user-space forwarder refuses. Both modes refuse it now, and
    both let it through when the list allows it."""
    with Netns() as ns:
        ns.ip("addr", "add", "198.18.7.1/24", "dev", "lo")
        srv = ns.spawn(PY, "-c", HELLO)
        assert srv.stdout.readline().strip() == "up"
        port = 7070
        for allow, want in (("198.18.100.0/24", "fail"), ("198.18.7.0/24", "reply hello")):
            for mode in (["--kernel"], []):
                port += 1
                f = Fwd(*mode, port, "198.18.7.1:8081", "--allow", allow, ns=ns)
                try:
                    f.wait_for(" listening ")
                    r = ns.run(PY, "-c", LOCAL, "198.18.7.1", port)
                finally:
                    err = f.stop()
                assert r.stdout.startswith(want), (mode, allow, r.stdout, err)


def test_kernel_says_which_family_it_cannot_forward():
    """A bare port takes IPv4 and IPv6 clients; with --kernel and an IPv4
    target the IPv6 ones were silently not forwarded. --check and the start
    say so; a rule none of whose clients could be forwarded is refused."""
    r = subprocess.run([BIN, "forward", "--kernel", "8080", "198.18.9.2:80", "--check"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("portkit: warning: ") \
        and "forwards only its IPv4 clients (no NAT from IPv6 to an IPv4 target)" in lines[0], r.stderr
    with Netns() as ns:
        ns.ip("addr", "add", "198.18.9.1/24", "dev", "lo")
        f = Fwd("--kernel", "8080", "198.18.9.2:80", ns=ns)
        try:
            f.wait_for(" listening ")
        finally:
            err = f.stop()
        assert "forwards only its IPv4 clients (no NAT from IPv6 to an IPv4 target)" in err, err
    for listen, target in (("[::1]:8080", "127.0.0.1:80"), ("0.0.0.0:8080", "[::1]:80")):
        r = subprocess.run([BIN, "forward", "--kernel", listen, target, "--check"],
                           capture_output=True, text=True, timeout=30)
        lines = r.stderr.splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "no NAT between families" in lines[0], \
            (listen, target, r.stderr)

"""portkit scan the way people really scan: a subnet with mostly empty
addresses, --rate as a ceiling counted at the target, Linux's ICMP rate
limit on UDP, ICMP rejects, a listener with a backlog of 1. Each test has
its own namespaces, removed whatever happens."""
import json
import os
import subprocess
import time

import pytest

from conftest import BIN
from netns import Netns

HERE = os.path.dirname(__file__)
PY = "/usr/bin/python3"


def records(text):
    return [json.loads(l) for l in text.splitlines()]


def ports(text):
    return [x for x in records(text) if "port" in x]


def hosts(text):
    return {x["addr"]: x["status"] for x in records(text) if "status" in x}


@pytest.fixture
def pair():
    scanner, target = Netns(), Netns()
    try:
        yield scanner, target
    finally:
        target.close()
        scanner.close()


SUBNET_OPEN = [21, 22, 80, 443, 3389, 8080]


@pytest.mark.parametrize("method", ["syn", "connect"])
def test_subnet_with_empty_addresses(pair, method):
    """6 hosts in a /24 of 256 addresses: every open port found, the rest down."""
    scanner, target = pair
    scanner.link(target, "198.18.50", 50)
    live = [f"198.18.50.{i}" for i in range(2, 8)]
    for a in live[1:]:
        target.ip("addr", "add", f"{a}/24", "dev", "pkt50")
    p = target.spawn(PY, os.path.join(HERE, "helpers/listeners.py"),
                     *[f"tcp:0.0.0.0:{x}" for x in SUBNET_OPEN])
    p.stdout.readline()
    r = scanner.run(BIN, "scan", "198.18.50.0/24", "--top", "100", "-s", method, "--json",
                    timeout=120)
    assert r.returncode == 0, r.stderr
    found = {(x["addr"], x["port"]) for x in ports(r.stdout) if x["state"] == "open"}
    assert found == {(a, port) for a in live for port in SUBNET_OPEN}
    h = hosts(r.stdout)
    assert len(h) == 256
    assert sorted(a for a, s in h.items() if s == "up") == sorted(live + ["198.18.50.1"])


def counter(ns):
    out = ns.run("nft", "list", "counter", "inet", "pkrate", "probes").stdout
    return int(out.split("packets")[1].split()[0])


@pytest.mark.parametrize("method,proto,nports,rate", [
    ("syn", "tcp", 300, 100), ("connect", "tcp", 300, 100), ("udp", "udp", 20, 200)])
def test_rate_is_a_ceiling_at_the_target(pair, method, proto, nports, rate):
    """--rate counts packets on the wire (UDP: every datagram), from the
    first on; the target's nftables counter never sees more in a second."""
    scanner, target = pair
    scanner.link(target, "198.18.51", 51)
    target.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
    for rule in ("add table inet pkrate", "add counter inet pkrate probes",
                 "add chain inet pkrate in { type filter hook input priority 0 ; }",
                 f"add rule inet pkrate in {proto} dport 20000-{20000 + nports - 1} "
                 "counter name probes"):
        assert target.run("nft", *rule.split()).returncode == 0
    t0 = time.monotonic()
    scan = subprocess.Popen(scanner.cmd(BIN, "scan", "198.18.51.2", "-Pn", "-s", method,
                                        "-p", f"20000-{20000 + nports - 1}", "--rate", rate,
                                        "--retries", "0", "--json"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = []
    while scan.poll() is None and time.monotonic() - t0 < 60:
        samples.append((time.monotonic(), counter(target)))
        try:
            scan.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
    out, err = scan.communicate(timeout=30)
    elapsed = time.monotonic() - t0
    samples.append((time.monotonic(), counter(target)))
    assert scan.returncode == 0, err
    total = samples[-1][1]
    assert total >= nports
    assert elapsed >= total / rate * 0.98
    # any window of under a second between two samples: at most `rate`
    for i, (ti, ci) in enumerate(samples):
        for tj, cj in samples[i + 1:]:
            if tj - ti <= 0.95:
                assert cj - ci <= rate, (tj - ti, cj - ci)


def test_udp_closed_ports_behind_icmp_rate_limit(pair):
    """A Linux target with its default ICMP rate limit (about one error a
    second after a burst of six) and 30 closed UDP ports: all 30 closed."""
    scanner, target = pair
    scanner.link(target, "198.18.52", 52)
    r = scanner.run(BIN, "scan", "198.18.52.2", "-s", "udp", "-p", "30001-30030", "--all",
                    "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    got = {x["port"]: (x["state"], x["reason"]) for x in ports(r.stdout)}
    assert got == {p: ("closed", "port-unreach") for p in range(30001, 30031)}


def test_udp_icmp_reject_reasons(pair):
    scanner, target = pair
    scanner.link(target, "198.18.53", 53)
    target.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
    for rule in ("add table inet pkrej",
                 "add chain inet pkrej in { type filter hook input priority 0 ; }",
                 "add rule inet pkrej in udp dport 5555 reject with icmp type admin-prohibited",
                 "add rule inet pkrej in udp dport 5556 reject with icmp type host-unreachable",
                 "add rule inet pkrej in udp dport 5558 drop"):
        assert target.run("nft", *rule.split()).returncode == 0
    r = scanner.run(BIN, "scan", "198.18.53.2", "-s", "udp", "-p", "5555-5558", "--all",
                    "--retries", "0", "--json", timeout=60)
    assert r.returncode == 0, r.stderr
    got = {x["port"]: (x["state"], x["reason"]) for x in ports(r.stdout)}
    assert got == {5555: ("filtered", "admin-prohibited"), 5556: ("filtered", "host-unreach"),
                   5557: ("closed", "port-unreach"), 5558: ("open|filtered", "no-response")}


def test_connect_finds_a_backlog_1_listener_on_50_addresses(pair):
    scanner, target = pair
    scanner.link(target, "198.18.54", 54)
    addrs = [f"198.18.54.{i}" for i in range(10, 60)]
    for a in addrs:
        target.ip("addr", "add", f"{a}/24", "dev", "pkt54")
    p = target.spawn(PY, os.path.join(HERE, "helpers/slowaccept.py"), "3389", "5")
    p.stdout.readline()
    r = scanner.run(BIN, "scan", *addrs, "-s", "connect", "-p", "3389", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    assert sorted(x["addr"] for x in ports(r.stdout) if x["state"] == "open") == sorted(addrs)


def test_unreachable_network_is_an_error(pair):
    scanner, _ = pair
    # the scanner namespace has no route at all beyond loopback
    for method in ("syn", "connect", "udp"):
        r = scanner.run(BIN, "scan", "198.18.55.9", "-Pn", "-p", "22", "-s", method, "--json",
                        timeout=30)
        assert r.returncode == 2, (method, r.stderr)
        assert r.stderr == ("portkit: failed to determine route to 198.18.55.9: network is "
                            "unreachable\n")
        assert not ports(r.stdout) and hosts(r.stdout) == {"198.18.55.9": "down"}


def test_udp_timeouts_follow_each_hosts_round_trips(pair):
    """A near host that answers in microseconds must not shorten the wait
    for a far one: 198.18.61.3 answers DNS only after 300 ms."""
    scanner, target = pair
    scanner.link(target, "198.18.61", 61)
    target.ip("addr", "add", "198.18.61.3/24", "dev", "pkt61")
    target.run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
    # the far host's other ports drop what comes (no ICMP, which would also
    # use up the namespace's global ICMP budget): only its round trip counts
    for rule in ("add table inet pkfar",
                 "add chain inet pkfar in { type filter hook input priority 0 ; }",
                 "add rule inet pkfar in ip daddr 198.18.61.3 udp dport 5301-5319 drop"):
        assert target.run("nft", *rule.split()).returncode == 0
    # a tiny DNS server bound to the far address only, answering late
    p = subprocess.Popen(target.cmd(PY, "-c",
                         "import os,sys;os.environ['LAB_DELAY_MS']='300';"
                         "sys.argv=['u','dns:5300'];"
                         f"exec(open('{HERE}/helpers/udpservers.py').read().replace("
                         "'(\"0.0.0.0\", int(port))', '(\"198.18.61.3\", int(port))'))"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    target.procs.append(p)
    assert p.stdout.readline().strip() == "ready"
    r = scanner.run(BIN, "scan", "198.18.61.2", "198.18.61.3", "-s", "udp", "-p", "5300-5319",
                    "--retries", "0", "--all", "--json", timeout=60)
    assert r.returncode == 0, r.stderr
    got = {(x["addr"], x["port"]): x["state"] for x in ports(r.stdout)}
    assert got[("198.18.61.3", 5300)] == "open"
    assert all(s == "closed" for (a, _), s in got.items() if a == "198.18.61.2")
